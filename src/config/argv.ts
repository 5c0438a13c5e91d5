// sd-scripts command-line spellings, parsed the way argparse would: `--opt v`, `--opt=v`,
// store_true flags, nargs="*" lists that run to the next option, the last occurrence winning,
// and argparse's unique-prefix abbreviations (allow_abbrev is on in sd-scripts' parser).
import type { Diagnostics } from './diagnostics.ts';
import { nearestKey } from './nearest.ts';
import { SD_OPTIONS } from './sd-options.ts';

export type ArgValue = string | string[] | true;

/** A token that argparse would take as an option rather than a value (`-0.5` is a value). */
function looksLikeOption(tok: string): boolean {
  return tok.startsWith('-') && tok !== '-' && !/^-\d|^-\.\d/.test(tok);
}

function resolveName(name: string): { name?: string; ambiguous?: string[] } {
  if (SD_OPTIONS.has(name)) return { name };
  const matches = [...SD_OPTIONS.keys()].filter((k) => k.startsWith(name));
  if (matches.length === 1) return { name: matches[0] };
  if (matches.length > 1) return { ambiguous: matches };
  return {};
}

/**
 * Parses tokens (already split like a shell) onto sd-scripts option names. Problems are
 * reported on `diags` with `where` naming the field they came from (e.g. "additional_parameters").
 */
export function parseSdArgv(tokens: readonly string[], diags: Diagnostics, where: string): Record<string, ArgValue> {
  const out: Record<string, ArgValue> = {};
  let i = 0;
  while (i < tokens.length) {
    const tok = tokens[i++];
    if (!looksLikeOption(tok)) {
      diags.warn('unrecognized-argument', where, `"${tok}" is not an option (sd-scripts: unrecognized arguments); ignored`);
      continue;
    }
    const body = tok.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const written = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    const { name, ambiguous } = resolveName(written);
    if (!name) {
      // Skip the values that belong to the unknown option so they do not become stray tokens.
      while (i < tokens.length && !looksLikeOption(tokens[i])) i++;
      if (ambiguous) {
        diags.warn(
          'ambiguous-option',
          where,
          `--${written} is ambiguous (${ambiguous
            .slice(0, 4)
            .map((a) => `--${a}`)
            .join(', ')}…); ignored`,
        );
      } else {
        diags.warn(
          'unknown-option',
          where,
          `--${written} is not an sd-scripts option; did you mean --${nearestKey(written, SD_OPTIONS.keys())}? ignored`,
        );
      }
      continue;
    }
    if (name !== written) {
      diags.info('abbreviated-option', where, `--${written} read as --${name} (argparse prefix match)`);
    }
    const kind = SD_OPTIONS.get(name);
    if (kind === 'flag') {
      if (inline !== undefined) {
        diags.warn('flag-with-value', where, `--${name} is a switch and takes no value (got "${inline}"); set as on`);
      }
      out[name] = true;
    } else if (kind === 'str*' || kind === 'float*') {
      const values: string[] = inline !== undefined ? [inline] : [];
      while (i < tokens.length && !looksLikeOption(tokens[i])) values.push(tokens[i++]);
      out[name] = values;
    } else {
      let value = inline;
      if (value === undefined) {
        if (i < tokens.length && !looksLikeOption(tokens[i])) value = tokens[i++];
        else {
          diags.error('missing-value', where, `--${name} expects one value`);
          continue;
        }
      }
      out[name] = value;
    }
  }
  return out;
}
