// `key=value` lists: --optimizer_args, --lr_scheduler_args, --network_args, and the kohya GUI
// fields that hold them as one shell-quoted string.
import { split } from 'shlex';
import { type PyValue, parsePyLiteral } from './py-literal.ts';

/** Splits like Python's shlex.split (what a shell would do to kohya_ss' command line). */
export function shellSplit(text: string): string[] {
  try {
    return split(text);
  } catch (e) {
    throw new Error(`cannot split like a shell: ${(e as Error).message} in ${JSON.stringify(text)}`);
  }
}

export interface KvProblem {
  item: string;
  message: string;
}

/**
 * sd-scripts splits each item at "=" and requires exactly two parts for optimizer and scheduler
 * args (`key, value = arg.split("=")`), then literal_evals the value. Network args split at the
 * first "=" only and keep the value as a string (train_network.py), so `literal` is false there.
 */
export function parseKvArgs(
  items: readonly string[],
  opts: { literal: boolean },
): { values: Record<string, PyValue>; problems: KvProblem[] } {
  const values: Record<string, PyValue> = {};
  const problems: KvProblem[] = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 0) {
      problems.push({ item, message: `"${item}" is not key=value` });
      continue;
    }
    const key = item.slice(0, eq);
    const raw = item.slice(eq + 1);
    if (!opts.literal) {
      values[key] = raw;
      continue;
    }
    if (raw.includes('=')) {
      problems.push({ item, message: `"${item}" has more than one "=" (sd-scripts raises ValueError)` });
      continue;
    }
    try {
      values[key] = parsePyLiteral(raw);
    } catch (e) {
      problems.push({
        item,
        message: `value of "${item}" is not a Python literal (${(e as Error).message}); quote strings, e.g. ${key}='${raw}'`,
      });
    }
  }
  return { values, problems };
}
