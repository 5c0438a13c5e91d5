// Reads a training config — kohya_ss GUI JSON (JSON5: the guide's presets end with a trailing
// comma) or an sd-scripts --config_file TOML — plus optional sd-scripts command-line overrides,
// into one validated config with sd-scripts option names.
import { readFileSync } from 'node:fs';
import JSON5 from 'json5';
import { parse as parseToml } from 'smol-toml';
import { parseSdArgv } from './argv.ts';
import { ConfigError, type Diagnostic, Diagnostics } from './diagnostics.ts';
import { checkEffects } from './inert.ts';
import { type GuiHints, type Mode, mapKohyaGui } from './kohya-gui.ts';
import { parseKvArgs, shellSplit } from './kv-args.ts';
import { nearestKey } from './nearest.ts';
import { CONFIG_KEYS, OPTIMIZER_TYPES, type TrainConfig, TrainConfigSchema } from './schema.ts';
import { SD_OPTIONS } from './sd-options.ts';

export type ConfigFormat = 'kohya-gui-json' | 'sd-scripts-toml';

export interface LoadOptions {
  /** Apply every key as written instead of reproducing what kohya_ss passed (`--apply-all-keys`). */
  applyAllKeys?: boolean;
  /** sd-scripts options given on lyco's command line; they win over the file. */
  argv?: readonly string[];
  format?: ConfigFormat;
}

export interface LoadedConfig {
  file: string;
  format: ConfigFormat;
  mode: Mode;
  /** What acts in training: inert keys removed (mode "kohya") or everything as written (mode "all"). */
  config: TrainConfig;
  /** The options as kohya_ss / the TOML passed them to sd-scripts, before inert keys were removed (for metadata). */
  passed: TrainConfig;
  hints: GuiHints;
  /** sd-scripts option → the key the user wrote. */
  origin: Record<string, string>;
  userKeys: ReadonlySet<string>;
  /** User keys lyco read (mapped, or reported as inert or not used); the others drew an unknown-key warning. */
  readKeys: ReadonlySet<string>;
  /** Warnings and notes (errors are thrown as ConfigError). */
  diagnostics: Diagnostic[];
}

export function detectFormat(file: string, text: string): ConfigFormat {
  if (/\.toml$/i.test(file)) return 'sd-scripts-toml';
  if (/\.json5?$/i.test(file)) return 'kohya-gui-json';
  return text.trimStart().startsWith('{') ? 'kohya-gui-json' : 'sd-scripts-toml';
}

export function loadConfig(file: string, opts: LoadOptions = {}): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ level: 'error', code: 'read', file, message: `cannot read: ${(e as Error).message}` }]);
  }
  return parseConfig(text, file, opts);
}

export function parseConfig(text: string, file: string, opts: LoadOptions = {}): LoadedConfig {
  const d = new Diagnostics(file);
  const mode: Mode = opts.applyAllKeys ? 'all' : 'kohya';
  const format = opts.format ?? detectFormat(file, text);
  let raw: Record<string, unknown>;
  let hints: GuiHints = {};
  let origin: Record<string, string> = {};
  let userKeys: Set<string>;
  let readKeys: Set<string>;

  if (format === 'kohya-gui-json') {
    const obj = parseJson(text, file);
    userKeys = new Set(Object.keys(obj));
    const m = mapKohyaGui(obj, mode, d);
    raw = m.args;
    hints = m.hints;
    origin = m.origin;
    readKeys = new Set(m.readKeys);
  } else {
    raw = parseTomlConfig(text, file, d);
    userKeys = new Set(Object.keys(raw));
    for (const k of Object.keys(raw)) origin[k] = k;
    readKeys = new Set(Object.keys(raw));
  }
  if (opts.argv && opts.argv.length > 0) {
    const over = parseSdArgv(opts.argv, d, 'command line');
    for (const [k, v] of Object.entries(over)) {
      raw[k] = v;
      origin[k] = k;
      userKeys.add(k);
      readKeys.add(k);
    }
  }
  d.throwIfErrors();
  const input = normalize(raw, origin, d);
  const passed = validate(input, origin, d);
  d.throwIfErrors();
  const config = checkEffects(passed, { mode, userKeys, origin, hints }, d);
  d.throwIfErrors();
  return { file, format, mode, config, passed, hints, origin, userKeys, readKeys, diagnostics: d.items };
}

function parseJson(text: string, file: string): Record<string, unknown> {
  let obj: unknown;
  try {
    obj = JSON5.parse(text);
  } catch (e) {
    const err = e as Error & { lineNumber?: number; columnNumber?: number };
    const at = err.lineNumber ? `:${err.lineNumber}:${err.columnNumber}` : '';
    throw new ConfigError([
      { level: 'error', code: 'syntax', file: `${file}${at}`, message: `not valid JSON: ${err.message.replace(/^JSON5: /, '')}` },
    ]);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError([{ level: 'error', code: 'syntax', file, message: 'expected a JSON object of kohya_ss keys' }]);
  }
  return obj as Record<string, unknown>;
}

/** sd-scripts merges every TOML table into one namespace (train_util.py:read_config_from_file). */
function parseTomlConfig(text: string, file: string, d: Diagnostics): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    const err = e as Error & { line?: number; column?: number };
    const at = err.line ? `:${err.line}:${err.column}` : '';
    throw new ConfigError([
      { level: 'error', code: 'syntax', file: `${file}${at}`, message: `not valid TOML: ${err.message.split('\n')[0]}` },
    ]);
  }
  if (Array.isArray(doc.datasets)) {
    throw new ConfigError([
      {
        level: 'error',
        code: 'dataset-config',
        file,
        message: 'this is a dataset config ([[datasets]]); name it in the training config as dataset_config = "<this file>"',
      },
    ]);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)) Object.assign(out, v);
    else out[k] = v;
  }
  for (const k of Object.keys(out)) {
    if (!SD_OPTIONS.has(k)) {
      d.warn('unknown-key', k, `unknown sd-scripts option; did you mean ${nearestKey(k, SD_OPTIONS.keys())}? ignored`);
      delete out[k];
    }
  }
  return out;
}

const KV_OPTIONS: Record<string, boolean> = { optimizer_args: true, lr_scheduler_args: true, network_args: false };

/** Turns option values into what the schema expects: key=value lists into maps, lists into scalars. */
function normalize(raw: Record<string, unknown>, origin: Record<string, string>, d: Diagnostics): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keyOf = (k: string) => origin[k] ?? k;
  for (const [k, v0] of Object.entries(raw)) {
    let v = v0;
    if (v === undefined || v === null) continue;
    if (k in KV_OPTIONS) {
      const items = typeof v === 'string' ? shellSplit(v) : Array.isArray(v) ? v.map(String) : [String(v)];
      const { values, problems } = parseKvArgs(items, { literal: KV_OPTIONS[k] });
      for (const p of problems) d.error('bad-value', keyOf(k), p.message);
      out[k] = values;
      continue;
    }
    if (k === 'text_encoder_lr' && Array.isArray(v)) {
      // One value per text encoder in sd-scripts HEAD; SD1.x uses the first.
      if (v.length === 0) continue;
      v = v[0];
    }
    if (!CONFIG_KEYS.has(k)) {
      const t: unknown = v;
      if (t !== false && t !== 0 && t !== '' && !(Array.isArray(t) && t.length === 0)) {
        d.info('not-used', keyOf(k), `${JSON.stringify(t)}: an sd-scripts option lyco does not use`);
      }
      continue;
    }
    if (typeof v === 'string' && v.trim() === '' && k !== 'lr_scheduler_type') continue;
    if ((k === 'sample_every_n_epochs' || k === 'sample_every_n_steps') && Number(v) <= 0) {
      continue; // sd-scripts turns values <= 0 off (train_util.py:verify_training_args)
    }
    if ((k === 'save_every_n_epochs' || k === 'save_every_n_steps') && Number(v) === 0) {
      d.warn('zero', keyOf(k), '0 means off here (sd-scripts would divide by it)');
      continue;
    }
    if (k === 'optimizer_type' && typeof v === 'string') {
      // sd-scripts compares lower-cased names; keep one spelling.
      const name = v;
      const canon = OPTIMIZER_TYPES.find((t) => t.toLowerCase() === name.toLowerCase());
      if (canon) v = canon;
      else if (!name.includes('.')) {
        d.error(
          'bad-value',
          keyOf(k),
          `${JSON.stringify(name)} is not an sd-scripts optimizer; did you mean ${nearestKey(name, OPTIMIZER_TYPES)}?`,
        );
      }
    }
    out[k] = v;
  }
  return out;
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(show).join(', ')}]` : String(v);
}

function validate(input: Record<string, unknown>, origin: Record<string, string>, d: Diagnostics): TrainConfig {
  const r = TrainConfigSchema.safeParse(input);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const opt = String(issue.path[0] ?? '');
    let value: unknown = input[opt];
    for (const p of issue.path.slice(1)) value = (value as Record<string, unknown> | undefined)?.[p as string];
    const key = [origin[opt] ?? opt, ...issue.path.slice(1).map(String)].join('.');
    d.error('bad-value', key, `${show(value)} is not allowed; expected ${issue.message}`);
  }
  return {} as TrainConfig;
}
