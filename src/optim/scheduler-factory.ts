// Builds a scheduler from sd-scripts' options (train_util.get_scheduler_fix): `--lr_scheduler`
// names, or `--lr_scheduler_type CosineAnnealingLR --lr_scheduler_args T_max=200 eta_min=0`.
import { CosineAnnealingLR, LambdaLR, type LRScheduler, type SchedulerTarget } from './lr-scheduler.ts';
import * as S from './schedules.ts';

export interface SdSchedulerOptions {
  /** `--lr_scheduler` (default "constant"); ignored when lrSchedulerType is set. */
  lrScheduler?: string;
  /** `--lr_scheduler_type`, a torch.optim.lr_scheduler class name; only CosineAnnealingLR is known. */
  lrSchedulerType?: string;
  /** `--lr_scheduler_args`: ["T_max=200", "eta_min=0"] or an already parsed object. */
  lrSchedulerArgs?: string[] | Record<string, unknown>;
  /** `--lr_warmup_steps`: an int, a ratio < 1 of the training steps, or "N%". */
  lrWarmupSteps?: number | string;
  lrSchedulerNumCycles?: number;
  lrSchedulerPower?: number;
  /** Optimizer steps of the whole run (after gradient accumulation). */
  maxTrainSteps?: number;
  numProcesses?: number;
}

/** Python-literal values as sd-scripts' `ast.literal_eval` reads them from `key=value`. */
export function parseLiteral(text: string): unknown {
  const v = text.trim();
  if (v === 'True') return true;
  if (v === 'False') return false;
  if (v === 'None') return null;
  const n = Number(v);
  if (v !== '' && Number.isFinite(n) && /^[+-]?[\d.]/.test(v)) return n;
  const quoted = /^(['"])(.*)\1$/.exec(v);
  if (quoted) return quoted[2];
  // "(0.9, 0.99)", "[1, 2]" and a bare "0.9,0.99" are all tuples to literal_eval.
  const inner = /^[([](.*)[)\]]$/.exec(v)?.[1] ?? (v.includes(',') ? v : undefined);
  if (inner !== undefined) {
    return inner
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(parseLiteral);
  }
  throw new Error(`cannot read "${text}" as a Python literal (number, True/False/None, quoted string, tuple)`);
}

export function parseKeyValueArgs(args: string[] | Record<string, unknown> | undefined): Record<string, unknown> {
  if (args === undefined) return {};
  if (!Array.isArray(args)) return { ...args };
  const out: Record<string, unknown> = {};
  for (const arg of args) {
    const parts = arg.split('=');
    if (parts.length !== 2) throw new Error(`lr_scheduler_args: "${arg}" must be key=value with exactly one "="`);
    out[parts[0].trim()] = parseLiteral(parts[1]);
  }
  return out;
}

/** sd-scripts' int_or_float: "N%" and floats < 1 are ratios of the training steps. */
function warmupSteps(value: number | string | undefined, trainingSteps: number | undefined): number {
  if (value === undefined) return 0;
  let ratio: number | undefined;
  if (typeof value === 'string') {
    const s = value.trim();
    const n = Number(s.endsWith('%') ? s.slice(0, -1) : s);
    if (!Number.isFinite(n)) throw new Error(`lr_warmup_steps: "${value}" is not a number or percentage`);
    if (s.endsWith('%')) ratio = n / 100;
    else value = n;
  }
  if (ratio === undefined && typeof value === 'number') {
    if (value >= 1) {
      if (!Number.isInteger(value)) throw new Error(`lr_warmup_steps: ${value} is neither a step count nor a ratio < 1`);
      return value;
    }
    if (value < 0) throw new Error(`lr_warmup_steps: ${value} must not be negative`);
    ratio = value;
  }
  if (trainingSteps === undefined) throw new Error('lr_warmup_steps as a ratio needs max_train_steps');
  return Math.trunc((ratio as number) * trainingSteps);
}

function cosineAnnealingFromArgs(target: SchedulerTarget, kwargs: Record<string, unknown>): CosineAnnealingLR {
  for (const key of Object.keys(kwargs)) {
    if (!['T_max', 'eta_min', 'verbose'].includes(key)) {
      throw new Error(`lr_scheduler_args: CosineAnnealingLR has no argument "${key}" (known: T_max, eta_min)`);
    }
  }
  if (kwargs.T_max === undefined) throw new Error('lr_scheduler_args: CosineAnnealingLR needs T_max=<optimizer steps>');
  const tMax = kwargs.T_max;
  const etaMin = kwargs.eta_min ?? 0;
  if (typeof tMax !== 'number') throw new Error(`lr_scheduler_args: T_max must be a number, got ${String(tMax)}`);
  if (typeof etaMin !== 'number') throw new Error(`lr_scheduler_args: eta_min must be a number, got ${String(etaMin)}`);
  return new CosineAnnealingLR(target, { tMax, etaMin });
}

/** The scheduler sd-scripts would build for these options (same errors for the same mistakes). */
export function createScheduler(target: SchedulerTarget, options: SdSchedulerOptions): LRScheduler {
  const name = options.lrScheduler ?? 'constant';
  const trainingSteps = options.maxTrainSteps === undefined ? undefined : options.maxTrainSteps * (options.numProcesses ?? 1);
  const W = warmupSteps(options.lrWarmupSteps, trainingSteps);
  const kwargs = parseKeyValueArgs(options.lrSchedulerArgs);
  const noWarmup = (what: string) => {
    if (W !== 0) throw new Error(`${what} does not require lr_warmup_steps; set it to 0`);
  };

  if (options.lrSchedulerType) {
    noWarmup(options.lrSchedulerType);
    const type = options.lrSchedulerType.replace(/^torch\.optim\.lr_scheduler\./, '');
    if (type !== 'CosineAnnealingLR') {
      throw new Error(`lr_scheduler_type: "${options.lrSchedulerType}" is not supported (supported: CosineAnnealingLR)`);
    }
    return cosineAnnealingFromArgs(target, kwargs);
  }
  if (Object.keys(kwargs).length > 0) {
    throw new Error(`lr_scheduler_args are only read with lr_scheduler_type here, got ${Object.keys(kwargs).join(', ')}`);
  }

  if (name === 'constant') {
    noWarmup('constant');
    return new LambdaLR(target, S.constant());
  }
  if (name === 'constant_with_warmup') return new LambdaLR(target, S.constantWithWarmup(W));
  const T = trainingSteps;
  if (T === undefined) throw new Error(`lr_scheduler ${name} needs max_train_steps`);
  switch (name) {
    case 'linear':
      return new LambdaLR(target, S.linear(W, T));
    case 'cosine':
      return new LambdaLR(target, S.cosine(W, T));
    case 'cosine_with_restarts':
      return new LambdaLR(target, S.cosineWithHardRestarts(W, T, options.lrSchedulerNumCycles ?? 1));
    case 'polynomial':
      return new LambdaLR(target, S.polynomialDecay(W, T, target.defaults.lr, 1e-7, options.lrSchedulerPower ?? 1));
    default:
      throw new Error(
        `lr_scheduler: unknown "${name}" (known: constant, constant_with_warmup, linear, cosine, cosine_with_restarts, polynomial)`,
      );
  }
}
