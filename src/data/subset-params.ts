// Dataset and subset options under sd-scripts' names and defaults (library/config_util.py
// DreamBoothSubsetParams / DreamBoothDatasetParams, with argparse's defaults where the
// dataclass default is a placeholder), so a dataset TOML reads the same here as there.
import type { Size } from './buckets.ts';

export interface SubsetParams {
  image_dir: string;
  num_repeats: number;
  is_reg: boolean;
  /** caption used when an image has no caption file (kohya folders: the folder name after `N_`) */
  class_tokens: string | undefined;
  caption_extension: string;
  shuffle_caption: boolean;
  caption_separator: string;
  keep_tokens: number;
  keep_tokens_separator: string;
  secondary_separator: string | undefined;
  enable_wildcard: boolean;
  caption_prefix: string | undefined;
  caption_suffix: string | undefined;
  caption_dropout_rate: number;
  caption_dropout_every_n_epochs: number;
  caption_tag_dropout_rate: number;
  token_warmup_min: number;
  token_warmup_step: number;
  color_aug: boolean;
  flip_aug: boolean;
  random_crop: boolean;
  resize_interpolation: string | undefined;
}

export interface DatasetParams {
  resolution: Size;
  batch_size: number;
  enable_bucket: boolean;
  min_bucket_reso: number;
  max_bucket_reso: number;
  bucket_reso_steps: number;
  bucket_no_upscale: boolean;
  prior_loss_weight: number;
}

export interface DatasetBlueprint {
  params: DatasetParams;
  subsets: SubsetParams[];
}

export const SUBSET_DEFAULTS: Omit<SubsetParams, 'image_dir'> = {
  num_repeats: 1,
  is_reg: false,
  class_tokens: undefined,
  caption_extension: '.caption',
  shuffle_caption: false,
  caption_separator: ',',
  keep_tokens: 0,
  keep_tokens_separator: '',
  secondary_separator: undefined,
  enable_wildcard: false,
  caption_prefix: undefined,
  caption_suffix: undefined,
  caption_dropout_rate: 0,
  caption_dropout_every_n_epochs: 0,
  caption_tag_dropout_rate: 0,
  token_warmup_min: 1,
  token_warmup_step: 0,
  color_aug: false,
  flip_aug: false,
  random_crop: false,
  resize_interpolation: undefined,
};

export const DATASET_DEFAULTS: Omit<DatasetParams, 'resolution'> = {
  batch_size: 1,
  enable_bucket: false,
  min_bucket_reso: 256,
  max_bucket_reso: 1024,
  bucket_reso_steps: 64,
  bucket_no_upscale: false,
  prior_loss_weight: 1,
};

/** Key -> expected type, for validating TOML and argument values. */
export type ParamKind = 'int' | 'number' | 'bool' | 'string' | 'resolution';

export const SUBSET_KEYS: Record<string, ParamKind> = {
  image_dir: 'string',
  num_repeats: 'int',
  is_reg: 'bool',
  class_tokens: 'string',
  caption_extension: 'string',
  shuffle_caption: 'bool',
  caption_separator: 'string',
  keep_tokens: 'int',
  keep_tokens_separator: 'string',
  secondary_separator: 'string',
  enable_wildcard: 'bool',
  caption_prefix: 'string',
  caption_suffix: 'string',
  caption_dropout_rate: 'number',
  caption_dropout_every_n_epochs: 'int',
  caption_tag_dropout_rate: 'number',
  token_warmup_min: 'int',
  token_warmup_step: 'number',
  color_aug: 'bool',
  flip_aug: 'bool',
  random_crop: 'bool',
  resize_interpolation: 'string',
};

export const DATASET_KEYS: Record<string, ParamKind> = {
  resolution: 'resolution',
  batch_size: 'int',
  enable_bucket: 'bool',
  min_bucket_reso: 'int',
  max_bucket_reso: 'int',
  bucket_reso_steps: 'int',
  bucket_no_upscale: 'bool',
  prior_loss_weight: 'number',
};

/** Accepted by sd-scripts but not acted on by lyco yet; read without error so configs load. */
export const IGNORED_KEYS = new Set([
  'face_crop_aug_range',
  'cache_info',
  'alpha_mask',
  'custom_attributes',
  'network_multiplier',
  'validation_seed',
  'validation_split',
  'debug_dataset',
]);

/** sd-scripts adds the leading dot when a caption extension lacks it. */
export function normaliseCaptionExtension(ext: string): string {
  return ext.startsWith('.') ? ext : `.${ext}`;
}

/** `512`, `[768, 512]` or `"768,512"` -> [w, h]. */
export function parseResolution(v: unknown, where: string): Size {
  const fail = () =>
    new Error(`${where}: resolution must be one number or [width, height] (e.g. 512 or [768, 512]), got ${JSON.stringify(v)}`);
  let parts: unknown[];
  if (typeof v === 'number') parts = [v, v];
  else if (typeof v === 'string') parts = v.split(',').map((s) => Number(s.trim()));
  else if (Array.isArray(v)) parts = v;
  else throw fail();
  if (parts.length === 1) parts = [parts[0], parts[0]];
  if (parts.length !== 2 || !parts.every((p) => typeof p === 'number' && Number.isInteger(p) && p > 0)) throw fail();
  return [parts[0] as number, parts[1] as number];
}
