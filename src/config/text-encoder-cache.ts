// When cache_text_encoder_outputs can be used. sd-scripts (sdxl_train_network.py
// assert_extra_args) asserts network_train_unet_only and, per subset (train_util.py
// is_text_encoder_output_cacheable), no caption_dropout_rate, shuffle_caption, token_warmup_step
// or caption_tag_dropout_rate. lyco also refuses caption_dropout_every_n_epochs: its empty
// captions would be silently ignored by a cache (as they are in sd-scripts).
import type { Diagnostics } from './diagnostics.ts';
import type { TrainConfig } from './schema.ts';

/** The caption options of a subset (sd-scripts' names) that change a caption between fetches. */
export interface CaptionRandomness {
  shuffle_caption: boolean;
  caption_dropout_rate: number;
  caption_tag_dropout_rate: number;
  token_warmup_step: number;
  caption_dropout_every_n_epochs: number;
}

const RANDOM_KEYS = [
  'shuffle_caption',
  'caption_dropout_rate',
  'caption_tag_dropout_rate',
  'token_warmup_step',
  'caption_dropout_every_n_epochs',
] as const satisfies readonly (keyof CaptionRandomness)[];

export interface TextCacheConflict {
  /** The sd-scripts option in the way. */
  key: string;
  value: boolean | number;
  message: string;
}

/** The first option that rules cache_text_encoder_outputs out, or undefined. */
export function textCacheConflict(trainsTextEncoder: boolean, subsets: readonly CaptionRandomness[]): TextCacheConflict | undefined {
  if (trainsTextEncoder) {
    return {
      key: 'network_train_unet_only',
      value: false,
      message:
        'is off, so the text encoders are trained, which cache_text_encoder_outputs cannot do (their outputs change every step): set network_train_unet_only (kohya_ss: text_encoder_lr 0) or turn the cache off',
    };
  }
  for (const s of subsets) {
    for (const key of RANDOM_KEYS) {
      const value = s[key];
      if (value === false || value === 0) continue;
      return {
        key,
        value,
        message: `${value === true ? 'true' : value} cannot be used with cache_text_encoder_outputs: the caption changes from fetch to fetch, so its encoding cannot be cached (turn one of them off)`,
      };
    }
  }
  return undefined;
}

/**
 * Config-level checks: to_disk implies the cache (as sd-scripts, kept in memory here), and the
 * conflicts of the options as given (a dataset_config's own subsets are checked when loaded).
 */
export function checkTextEncoderCache(cfg: TrainConfig, keyOf: (opt: string) => string, d: Diagnostics): void {
  if (cfg.cache_text_encoder_outputs_to_disk && !cfg.cache_text_encoder_outputs) {
    cfg.cache_text_encoder_outputs = true;
    d.info(
      'text-encoder-cache',
      keyOf('cache_text_encoder_outputs_to_disk'),
      'turns cache_text_encoder_outputs on (as sd-scripts); lyco keeps the encoder outputs in memory',
    );
  }
  if (!cfg.cache_text_encoder_outputs) return;
  const c = textCacheConflict(!cfg.network_train_unet_only, cfg.dataset_config ? [] : [cfg]);
  if (c) d.error('text-encoder-cache', keyOf(c.key), c.message);
}
