// The internal config: sd-scripts option names, sd-scripts defaults, validated with zod.
// Every schema carries its own "expected …" text, so a bad value becomes one line naming the key
// and what is allowed. Numbers written as strings ("200", "31337") are accepted, as kohya_ss does.
import { z } from 'zod';
import type { PyValue } from './py-literal.ts';

function toNumber(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (t === '') return undefined;
  if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  return Number(t);
}

function toBool(v: unknown): unknown {
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (t === 'true' || t === '1') return true;
    if (t === 'false' || t === '0' || t === '') return false;
  }
  if (v === 0 || v === 1) return v === 1;
  return v;
}

interface Range {
  int?: boolean;
  gt?: number;
  gte?: number;
  lte?: number;
  lt?: number;
}

function rangeText(r: Range): string {
  const parts: string[] = [];
  if (r.gt !== undefined) parts.push(`> ${r.gt}`);
  if (r.gte !== undefined) parts.push(`≥ ${r.gte}`);
  if (r.lt !== undefined) parts.push(`< ${r.lt}`);
  if (r.lte !== undefined) parts.push(`≤ ${r.lte}`);
  return `${r.int ? 'an integer' : 'a number'}${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}

/** A number (or numeric string) within a range. */
export function num(r: Range = {}) {
  const error = rangeText(r);
  let s = r.int ? z.int({ error }) : z.number({ error });
  if (r.gt !== undefined) s = s.gt(r.gt, { error });
  if (r.gte !== undefined) s = s.gte(r.gte, { error });
  if (r.lt !== undefined) s = s.lt(r.lt, { error });
  if (r.lte !== undefined) s = s.lte(r.lte, { error });
  return z.preprocess(toNumber, s);
}

const int = (r: Omit<Range, 'int'> = {}) => num({ ...r, int: true });
const bool = () => z.preprocess(toBool, z.boolean({ error: 'true or false' })).default(false);
const str = () => z.string({ error: 'a string' });
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `one of ${values.join(', ')}` });
}

const pyValue: z.ZodType<PyValue> = z.lazy(() => z.union([z.number(), z.boolean(), z.null(), z.string(), z.array(pyValue)]));
const kv = () => z.record(z.string(), pyValue, { error: 'key=value pairs' }).default({});

/** `lr_scheduler` names sd-scripts accepts (transformers' SchedulerType plus adafactor). */
export const LR_SCHEDULERS = [
  'constant',
  'constant_with_warmup',
  'linear',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
  'adafactor',
  'inverse_sqrt',
  'cosine_with_min_lr',
  'warmup_stable_decay',
  'piecewise_constant',
] as const;

/** sd-scripts' `--optimizer_type` names (matched case-insensitively, train_util.py:get_optimizer). */
export const OPTIMIZER_TYPES = [
  'AdamW',
  'AdamW8bit',
  'PagedAdamW',
  'PagedAdamW8bit',
  'PagedAdamW32bit',
  'Lion',
  'Lion8bit',
  'PagedLion8bit',
  'SGDNesterov',
  'SGDNesterov8bit',
  'DAdaptation',
  'DAdaptAdamPreprint',
  'DAdaptAdaGrad',
  'DAdaptAdam',
  'DAdaptAdan',
  'DAdaptAdanIP',
  'DAdaptLion',
  'DAdaptSGD',
  'Prodigy',
  'AdaFactor',
  'RAdamScheduleFree',
  'AdamWScheduleFree',
  'SGDScheduleFree',
] as const;

export const TrainConfigSchema = z.object({
  // model
  pretrained_model_name_or_path: str().optional(),
  vae: str().optional(),
  v2: bool(),
  v_parameterization: bool(),
  /** lyco: SDXL model (kohya_ss picks sdxl_train_network.py). */
  sdxl: bool(),
  // dataset
  train_data_dir: str().optional(),
  reg_data_dir: str().optional(),
  dataset_config: str().optional(),
  resolution: str().default('512,512'),
  enable_bucket: bool(),
  min_bucket_reso: int({ gt: 0 }).default(256),
  max_bucket_reso: int({ gt: 0 }).default(1024),
  bucket_reso_steps: int({ gt: 0 }).default(64),
  bucket_no_upscale: bool(),
  caption_extension: str().default('.caption'),
  shuffle_caption: bool(),
  keep_tokens: int({ gte: 0 }).default(0),
  caption_dropout_rate: num({ gte: 0, lte: 1 }).default(0),
  caption_dropout_every_n_epochs: int({ gte: 0 }).default(0),
  caption_tag_dropout_rate: num({ gte: 0, lte: 1 }).default(0),
  token_warmup_min: int({ gte: 0 }).default(1),
  token_warmup_step: num({ gte: 0 }).default(0),
  color_aug: bool(),
  flip_aug: bool(),
  random_crop: bool(),
  cache_latents: bool(),
  cache_latents_to_disk: bool(),
  /** sd-scripts: SDXL only; lyco: every family. Needs network_train_unet_only and fixed captions. */
  cache_text_encoder_outputs: bool(),
  cache_text_encoder_outputs_to_disk: bool(),
  vae_batch_size: int({ gte: 1 }).default(1),
  prior_loss_weight: num({ gte: 0 }).default(1),
  // network
  network_module: str().optional(),
  network_dim: int({ gt: 0 }).optional(),
  network_alpha: num({ gt: 0 }).default(1),
  network_dropout: num({ gte: 0, lt: 1 }).optional(),
  network_args: z.record(z.string(), z.string(), { error: 'key=value pairs' }).default({}),
  network_weights: str().optional(),
  dim_from_weights: bool(),
  network_train_unet_only: bool(),
  network_train_text_encoder_only: bool(),
  scale_weight_norms: num({ gt: 0 }).optional(),
  training_comment: str().optional(),
  // optimizer and schedule
  optimizer_type: str().default('AdamW'),
  optimizer_args: kv(),
  learning_rate: num({ gte: 0 }).default(2e-6),
  unet_lr: num({ gte: 0 }).optional(),
  text_encoder_lr: num({ gte: 0 }).optional(),
  max_grad_norm: num({ gte: 0 }).default(1),
  lr_scheduler: oneOf(LR_SCHEDULERS).default('constant'),
  lr_scheduler_type: str().default(''),
  lr_scheduler_args: kv(),
  lr_warmup_steps: num({ gte: 0 }).default(0),
  lr_scheduler_num_cycles: int({ gte: 1 }).default(1),
  lr_scheduler_power: num().default(1),
  // steps
  train_batch_size: int({ gte: 1 }).default(1),
  gradient_accumulation_steps: int({ gte: 1 }).default(1),
  max_train_steps: int({ gte: 0 }).default(1600),
  max_train_epochs: int({ gte: 0 }).optional(),
  seed: int({ gte: 0 }).optional(),
  gradient_checkpointing: bool(),
  mixed_precision: oneOf(['no', 'fp16', 'bf16']).default('no'),
  full_fp16: bool(),
  full_bf16: bool(),
  // noise and loss
  noise_offset: num().optional(),
  noise_offset_random_strength: bool(),
  adaptive_noise_scale: num().optional(),
  multires_noise_iterations: int({ gte: 0 }).optional(),
  multires_noise_discount: num({ gte: 0 }).default(0.3),
  ip_noise_gamma: num({ gte: 0 }).optional(),
  min_snr_gamma: num({ gt: 0 }).optional(),
  scale_v_pred_loss_like_noise_pred: bool(),
  v_pred_like_loss: num().optional(),
  debiased_estimation_loss: bool(),
  zero_terminal_snr: bool(),
  min_timestep: int({ gte: 0, lte: 1000 }).optional(),
  max_timestep: int({ gte: 0, lte: 1000 }).optional(),
  loss_type: oneOf(['l1', 'l2', 'huber', 'smooth_l1']).default('l2'),
  clip_skip: int({ gte: 1 }).optional(),
  max_token_length: z.union([z.literal(150), z.literal(225)], { error: '150 or 225' }).optional(),
  // saving and sampling
  output_dir: str().optional(),
  output_name: str().optional(),
  save_model_as: oneOf(['ckpt', 'pt', 'safetensors']).default('safetensors'),
  save_precision: oneOf(['float', 'fp16', 'bf16']).optional(),
  save_every_n_epochs: int({ gt: 0 }).optional(),
  save_every_n_steps: int({ gt: 0 }).optional(),
  save_last_n_epochs: int({ gt: 0 }).optional(),
  save_last_n_steps: int({ gt: 0 }).optional(),
  save_last_n_steps_state: int({ gt: 0 }).optional(),
  save_n_epoch_ratio: int({ gt: 0 }).optional(),
  save_state: bool(),
  save_state_on_train_end: bool(),
  resume: str().optional(),
  sample_every_n_epochs: int({ gt: 0 }).optional(),
  sample_every_n_steps: int({ gt: 0 }).optional(),
  sample_prompts: str().optional(),
  sample_sampler: str().default('ddim'),
  sample_at_first: bool(),
  logging_dir: str().optional(),
  log_prefix: str().optional(),
  log_with: oneOf(['tensorboard', 'wandb', 'all']).optional(),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Keys of the internal config. */
export const CONFIG_KEYS: ReadonlySet<string> = new Set(Object.keys(TrainConfigSchema.shape));
