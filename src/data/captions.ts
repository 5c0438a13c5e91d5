// Captions as sd-scripts reads and varies them: the caption file next to the image, then per
// fetch prefix/suffix, whole-caption dropout, wildcards, keep_tokens + shuffle, token warmup and
// tag dropout, drawing from the epoch's PyRandom in sd-scripts' order.
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { PyRandom } from './py-random.ts';
import type { SubsetParams } from './subset-params.ts';

/**
 * The caption file for `imagePath`: `<stem><caption_extension>`, else the stem with the last four
 * `_` fields removed (sd-scripts' face-crop naming). First line, trimmed (all non-empty lines
 * joined with newlines under enable_wildcard). `undefined` when there is none.
 */
export function readCaptionFile(imagePath: string, captionExtension: string, enableWildcard: boolean): string | undefined {
  const stem = imagePath.slice(0, imagePath.length - extname(imagePath).length);
  const fields = stem.split('_');
  const candidates = [stem + captionExtension];
  if (fields.length >= 5) candidates.push(fields.slice(0, -4).join('_') + captionExtension);
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const buf = readFileSync(path);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      throw new Error(`${path}: caption file is not UTF-8; re-save it as UTF-8`);
    }
    if (text.length === 0) throw new Error(`${path}: caption file is empty; write a caption or delete the file`);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const lines = text.split(/\r?\n/);
    if (enableWildcard)
      return lines
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .join('\n');
    return lines[0].trim();
  }
  return undefined;
}

export type CaptionOptions = Pick<
  SubsetParams,
  | 'caption_prefix'
  | 'caption_suffix'
  | 'caption_dropout_rate'
  | 'caption_dropout_every_n_epochs'
  | 'caption_tag_dropout_rate'
  | 'enable_wildcard'
  | 'shuffle_caption'
  | 'keep_tokens'
  | 'keep_tokens_separator'
  | 'caption_separator'
  | 'secondary_separator'
  | 'token_warmup_min'
  | 'token_warmup_step'
>;

export interface CaptionState {
  /** training epoch, 1-based as sd-scripts counts in its loop */
  epoch: number;
  /** optimizer steps done so far (token warmup) */
  step: number;
  /** needed only when token_warmup_step < 1 (a fraction of the run) */
  maxTrainSteps?: number;
}

const splitTrim = (s: string, sep: string) =>
  s
    .split(sep)
    .map((t) => t.trim())
    .filter((t) => t !== '');

/** One fetch of a caption; the same rng state gives the same caption. */
export function processCaption(caption: string, o: CaptionOptions, state: CaptionState, rng: PyRandom): string {
  if (o.caption_prefix) caption = `${o.caption_prefix} ${caption}`;
  if (o.caption_suffix) caption = `${caption} ${o.caption_suffix}`;

  let drop = o.caption_dropout_rate > 0 && rng.random() < o.caption_dropout_rate;
  drop ||= o.caption_dropout_every_n_epochs > 0 && state.epoch % o.caption_dropout_every_n_epochs === 0;
  if (drop) return '';

  if (o.enable_wildcard) {
    if (caption.includes('\n')) caption = rng.choice(caption.split('\n'));
    caption = expandWildcards(caption, rng);
  } else {
    caption = caption.split('\n')[0];
  }

  let warmupStep = o.token_warmup_step;
  // a fraction means "of the whole run"
  if (warmupStep < 1) warmupStep = Math.floor(warmupStep * (state.maxTrainSteps ?? 0));

  if (o.shuffle_caption || warmupStep > 0 || o.caption_tag_dropout_rate > 0) {
    const sep = o.caption_separator;
    let fixed: string[] = [];
    let flex: string[];
    let fixedSuffix: string[] = [];
    const kts = o.keep_tokens_separator;
    if (kts && caption.includes(kts)) {
      const at = caption.indexOf(kts);
      const fixedPart = caption.slice(0, at);
      let flexPart = caption.slice(at + kts.length);
      const at2 = flexPart.indexOf(kts);
      if (at2 >= 0) {
        fixedSuffix = splitTrim(flexPart.slice(at2 + kts.length), sep);
        flexPart = flexPart.slice(0, at2);
      }
      fixed = splitTrim(fixedPart, sep);
      flex = splitTrim(flexPart, sep);
    } else {
      // empty tokens are kept here, as sd-scripts does
      const tokens = caption
        .trim()
        .split(sep)
        .map((t) => t.trim());
      flex = tokens;
      if (o.keep_tokens > 0) {
        fixed = tokens.slice(0, o.keep_tokens);
        flex = tokens.slice(o.keep_tokens);
      }
    }
    if (warmupStep > 0 && state.step < warmupStep) {
      const n = Math.floor(state.step * ((flex.length - o.token_warmup_min) / warmupStep)) + o.token_warmup_min;
      flex = flex.slice(0, Math.max(0, n));
    }
    if (o.shuffle_caption) rng.shuffle(flex);
    if (o.caption_tag_dropout_rate > 0) flex = flex.filter(() => rng.random() >= o.caption_tag_dropout_rate);
    caption = [...fixed, ...flex, ...fixedSuffix].join(', ');
  }
  if (o.secondary_separator) caption = caption.split(o.secondary_separator).join(o.caption_separator);
  return caption;
}

/** `{a|b|c}` picks one alternative; `{{` and `}}` are literal braces. */
export function expandWildcards(caption: string, rng: PyRandom): string {
  let open = '⦅';
  let close = '⦆';
  while (caption.includes(open) || caption.includes(close)) {
    open += '⦅';
    close += '⦆';
  }
  const escaped = caption.split('{{').join(open).split('}}').join(close);
  const replaced = escaped.replace(/\{([^}]+)\}/g, (_m, body: string) => rng.choice(body.split('|')));
  return replaced.split(open).join('{').split(close).join('}');
}
