// Dataset blueprints from sd-scripts' dataset TOML (`--dataset_config`) or from kohya's folder
// convention. Each subset option is looked up subset -> dataset -> [general] -> arguments ->
// default, the first value present wins (config_util.BlueprintGenerator.search_value).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import {
  DATASET_DEFAULTS,
  DATASET_KEYS,
  type DatasetBlueprint,
  type DatasetParams,
  IGNORED_KEYS,
  normaliseCaptionExtension,
  type ParamKind,
  parseResolution,
  SUBSET_DEFAULTS,
  SUBSET_KEYS,
  type SubsetParams,
} from './subset-params.ts';

type Table = Record<string, unknown>;

export class DatasetConfigError extends Error {
  override name = 'DatasetConfigError';
}

function checkValue(kind: ParamKind, v: unknown, where: string): unknown {
  const bad = (what: string) => new DatasetConfigError(`${where}: expected ${what}, got ${JSON.stringify(v)}`);
  switch (kind) {
    case 'int':
      if (typeof v === 'bigint') return Number(v);
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('an integer');
      return v;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('a number');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      return v;
    case 'resolution':
      try {
        return parseResolution(v, where);
      } catch (e) {
        throw new DatasetConfigError((e as Error).message);
      }
  }
}

/** Validates the keys of one table; subsets may hold subset keys, datasets/general both kinds. */
function checkTable(t: Table, allowed: Record<string, ParamKind>, where: string, extra: string[] = []): Table {
  const out: Table = {};
  for (const [k, v] of Object.entries(t)) {
    if (extra.includes(k) || IGNORED_KEYS.has(k)) continue;
    const kind = allowed[k];
    if (!kind) {
      if (k === 'metadata_file' || k === 'conditioning_data_dir')
        throw new DatasetConfigError(`${where}.${k}: fine-tuning and ControlNet subsets are not supported; use image_dir subsets`);
      throw new DatasetConfigError(`${where}: unknown key "${k}"; check its spelling against sd-scripts' dataset config keys`);
    }
    out[k] = checkValue(kind, v, `${where}.${k}`);
  }
  return out;
}

function pick(key: string, layers: Table[]): unknown {
  for (const l of layers) if (l[key] !== undefined && l[key] !== null) return l[key];
  return undefined;
}

function buildSubset(layers: Table[], where: string): SubsetParams {
  const s: Record<string, unknown> = { ...SUBSET_DEFAULTS };
  for (const k of Object.keys(SUBSET_KEYS)) {
    const v = pick(k, layers);
    if (v !== undefined) s[k] = v;
  }
  if (typeof s.image_dir !== 'string') throw new DatasetConfigError(`${where}: image_dir is required`);
  s.caption_extension = normaliseCaptionExtension(s.caption_extension as string);
  return s as unknown as SubsetParams;
}

function buildDataset(layers: Table[], where: string): DatasetParams {
  const d: Record<string, unknown> = { ...DATASET_DEFAULTS };
  for (const k of Object.keys(DATASET_KEYS)) {
    const v = pick(k, layers);
    if (v !== undefined) d[k] = v;
  }
  if (!d.resolution) throw new DatasetConfigError(`${where}: resolution is required (set it in [general], the dataset or the arguments)`);
  return d as unknown as DatasetParams;
}

const ALL_KEYS = { ...DATASET_KEYS, ...SUBSET_KEYS };

/** Arguments given on the command line or in the GUI JSON, already under sd-scripts' names. */
export type DatasetArgs = Partial<Record<keyof SubsetParams | keyof DatasetParams, unknown>>;

function checkArgs(args: DatasetArgs): Table {
  const t: Table = {};
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined || v === null) continue;
    const kind = (ALL_KEYS as Record<string, ParamKind>)[k];
    if (kind) t[k] = checkValue(kind, v, `argument ${k}`);
  }
  return t;
}

/** Blueprints from a parsed dataset config (`{general, datasets: [{..., subsets: [...]}]}`). */
export function blueprintsFromConfig(config: Table, file: string, args: DatasetArgs = {}): DatasetBlueprint[] {
  for (const k of Object.keys(config))
    if (k !== 'general' && k !== 'datasets')
      throw new DatasetConfigError(`${file}: unknown top-level key "${k}"; expected [general] and [[datasets]]`);
  const general = checkTable((config.general as Table) ?? {}, ALL_KEYS, `${file} [general]`);
  const datasets = config.datasets ?? [];
  if (!Array.isArray(datasets)) throw new DatasetConfigError(`${file}: datasets must be an array of tables ([[datasets]])`);
  if (datasets.length === 0) throw new DatasetConfigError(`${file}: no [[datasets]]; add one with its [[datasets.subsets]]`);
  const argTable = checkArgs(args);
  return datasets.map((ds, i) => {
    const where = `${file} datasets[${i}]`;
    const dt = checkTable(ds as Table, ALL_KEYS, where, ['subsets']);
    const subsets = (ds as Table).subsets ?? [];
    if (!Array.isArray(subsets) || subsets.length === 0)
      throw new DatasetConfigError(`${where}: no subsets; add [[datasets.subsets]] with an image_dir`);
    const params = buildDataset([dt, general, argTable], where);
    const subs = subsets.map((s, j) => {
      const sw = `${where}.subsets[${j}]`;
      const st = checkTable(s as Table, SUBSET_KEYS, sw);
      return buildSubset([st, dt, general, argTable], sw);
    });
    return { params, subsets: subs };
  });
}

/** Reads a dataset TOML (or JSON, as sd-scripts also accepts). */
export function loadDatasetConfig(file: string, args: DatasetArgs = {}): DatasetBlueprint[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DatasetConfigError(`${file}: cannot read the dataset config (${(e as Error).message.split('\n')[0]})`);
  }
  let config: Table;
  try {
    config = file.toLowerCase().endsWith('.json') ? JSON.parse(text) : (parseToml(text) as Table);
  } catch (e) {
    throw new DatasetConfigError(
      `${file}: not valid ${file.toLowerCase().endsWith('.json') ? 'JSON' : 'TOML'}: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  return blueprintsFromConfig(config, file, args);
}

export interface FolderWarning {
  path: string;
  message: string;
}

/**
 * kohya's folder convention: every direct sub-folder `<repeats>_<class tokens>` of train_data_dir
 * (and of reg_data_dir, as regularisation subsets) is a subset. Folders without a leading
 * integer, or with repeats < 1, are skipped with a warning; files directly in the root are not used.
 * Folders are taken in name order (sd-scripts uses the file system's order).
 */
export function subsetsFromFolders(
  trainDataDir: string,
  regDataDir?: string,
  warnings: FolderWarning[] = [],
): { image_dir: string; num_repeats: number; is_reg: boolean; class_tokens: string }[] {
  const out: { image_dir: string; num_repeats: number; is_reg: boolean; class_tokens: string }[] = [];
  const scan = (base: string, isReg: boolean) => {
    if (!statSync(base, { throwIfNoEntry: false })?.isDirectory())
      throw new DatasetConfigError(`${base}: not a folder; pass the folder that holds the <repeats>_<name> folders`);
    const dirs = readdirSync(base, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name)
      .sort();
    for (const name of dirs) {
      const [head, ...rest] = name.split('_');
      const repeats = /^[+-]?\d+$/.test(head.trim()) ? Number(head) : Number.NaN;
      if (Number.isNaN(repeats)) {
        warnings.push({
          path: join(base, name),
          message: `${join(base, name)}: ignored, the folder name does not start with <repeats>_ (e.g. 10_${name})`,
        });
        continue;
      }
      if (repeats < 1) {
        warnings.push({ path: join(base, name), message: `${join(base, name)}: ignored, repeats ${repeats} is less than 1` });
        continue;
      }
      out.push({ image_dir: join(base, name), num_repeats: repeats, is_reg: isReg, class_tokens: rest.join('_') });
    }
  };
  scan(trainDataDir, false);
  if (regDataDir) scan(regDataDir, true);
  if (out.length === 0)
    throw new DatasetConfigError(
      `${trainDataDir}: no <repeats>_<name> folders found; put the images in e.g. ${join(trainDataDir, `10_${basename(trainDataDir)}`)}`,
    );
  return out;
}

/** A blueprint from folders plus the arguments (all subsets share the arguments' options). */
export function blueprintFromFolders(
  trainDataDir: string,
  regDataDir: string | undefined,
  args: DatasetArgs,
  warnings: FolderWarning[] = [],
): DatasetBlueprint {
  const argTable = checkArgs(args);
  const where = 'arguments';
  const params = buildDataset([argTable], where);
  const subsets = subsetsFromFolders(trainDataDir, regDataDir, warnings).map((f) =>
    buildSubset([f as unknown as Table, argTable], `${where} (${f.image_dir})`),
  );
  return { params, subsets };
}
