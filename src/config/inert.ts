// Keys that are set but do nothing in kohya_ss + sd-scripts + LyCORIS 1.8, and settings whose
// effect surprises (see shared/research/spec-training.md §12 and spec-lycoris.md key findings).
// In mode "kohya" the effective config drops what did not act, with one warning per key;
// in mode "all" every key acts as written and only what lyco cannot apply is reported.
import type { Diagnostics } from './diagnostics.ts';
import type { GuiHints, Mode } from './kohya-gui.ts';
import { nearestKey } from './nearest.ts';
import type { TrainConfig } from './schema.ts';
import { checkTextEncoderCache } from './text-encoder-cache.ts';

export interface EffectContext {
  mode: Mode;
  /** Keys the user wrote (GUI keys or sd-scripts options). */
  userKeys: ReadonlySet<string>;
  /** sd-scripts option → the user's key it came from. */
  origin: Readonly<Record<string, string>>;
  hints: GuiHints;
}

/** Prodigy's constructor arguments (konstmish/prodigy 1.1.2; `slice_p` is new in 1.1). */
const PRODIGY_ARGS = [
  'lr',
  'betas',
  'beta3',
  'eps',
  'weight_decay',
  'decouple',
  'use_bias_correction',
  'safeguard_warmup',
  'd0',
  'd_coef',
  'growth_rate',
  'fsdp_in_use',
  'slice_p',
];
const DADAPT_ADAM_ARGS = [
  'lr',
  'betas',
  'eps',
  'weight_decay',
  'log_every',
  'decouple',
  'use_bias_correction',
  'd0',
  'growth_rate',
  'fsdp_in_use',
];

/** Optimizers that keep one step size for all groups and raise on unequal non-zero group lrs. */
export function isAdaptiveOptimizer(type: string): boolean {
  const t = type.toLowerCase();
  return t === 'prodigy' || t.startsWith('dadapt');
}

/** The LyCORIS algorithm, when the network is lycoris.kohya. */
export function lycorisAlgo(cfg: TrainConfig): string | undefined {
  if (cfg.network_module !== 'lycoris.kohya') return undefined;
  return (cfg.network_args.algo ?? 'lora').toLowerCase();
}

/**
 * The learning rate of each parameter group sd-scripts builds (text encoder first, then U-Net),
 * as `prepare_optimizer_params(text_encoder_lr, unet_lr)` resolves them.
 */
export function groupLearningRates(cfg: TrainConfig): { group: 'textencoder' | 'unet'; lr: number; key: string }[] {
  const out: { group: 'textencoder' | 'unet'; lr: number; key: string }[] = [];
  if (!cfg.network_train_unet_only) {
    const own = cfg.text_encoder_lr !== undefined;
    out.push({ group: 'textencoder', lr: cfg.text_encoder_lr ?? cfg.learning_rate, key: own ? 'text_encoder_lr' : 'learning_rate' });
  }
  if (!cfg.network_train_text_encoder_only) {
    const own = cfg.unet_lr !== undefined;
    out.push({ group: 'unet', lr: cfg.unet_lr ?? cfg.learning_rate, key: own ? 'unet_lr' : 'learning_rate' });
  }
  return out;
}

export function checkEffects(input: TrainConfig, ctx: EffectContext, d: Diagnostics): TrainConfig {
  const cfg: TrainConfig = { ...input, network_args: { ...input.network_args } };
  const kohya = ctx.mode === 'kohya';
  const keyOf = (opt: string) => ctx.origin[opt] ?? opt;
  const given = (k: string) => ctx.userKeys.has(k);
  const algo = lycorisAlgo(cfg);
  const inert = (key: string, message: string) => d.warn('inert', key, message);

  // network_dropout: sd-scripts 2023 passed it as `neuron_dropout`, which LyCORIS 1.8 never reads.
  if (cfg.network_dropout !== undefined && cfg.network_dropout > 0 && algo !== undefined && kohya) {
    const fix =
      algo === 'lora' ? `network_args "dropout=${cfg.network_dropout}" would make it act` : `LyCORIS has no neuron dropout for ${algo}`;
    inert(
      keyOf('network_dropout'),
      `${cfg.network_dropout} has no effect: lycoris.kohya does not receive it (${fix}); --apply-all-keys applies it`,
    );
    cfg.network_dropout = undefined;
  }
  if (cfg.scale_weight_norms !== undefined && algo === 'ia3' && kohya) {
    inert(
      keyOf('scale_weight_norms'),
      `${cfg.scale_weight_norms} has no effect: the iA3 network has no max-norm, so sd-scripts turns it off; --apply-all-keys applies it`,
    );
    cfg.scale_weight_norms = undefined;
  }
  if (algo === 'ia3') {
    const onInput = cfg.network_args.train_on_input;
    if (onInput !== undefined && /^true$/i.test(onInput) && kohya) {
      inert(
        given('train_on_input') ? 'train_on_input' : 'network_args.train_on_input',
        'True has no effect: LyCORIS 1.8 lycoris.kohya never reads it, so every iA3 module scales its output; --apply-all-keys scales the input of the feed-forward output layers',
      );
      cfg.network_args.train_on_input = 'False';
    }
    for (const k of ['network_dim', 'network_alpha', 'conv_dim', 'conv_alpha']) {
      if (given(k)) inert(k, 'has no effect for iA3 (one learned scale per channel, no rank or alpha)');
    }
  }
  if ((algo === 'lokr' || algo === 'loha') && /^true$/i.test(cfg.network_args.use_cp ?? '') && kohya) {
    inert(given('use_cp') ? 'use_cp' : 'network_args.use_cp', 'True is not read by LyCORIS 1.8 (its switch is use_conv_cp)');
  }
  if (algo === 'lokr') checkLokrAlpha(cfg, ctx, d);

  // Scheduler: --lr_scheduler_type replaces --lr_scheduler, and refuses warmup.
  if (cfg.lr_scheduler_type !== '') {
    if (given(keyOf('lr_scheduler'))) {
      inert(keyOf('lr_scheduler'), `"${cfg.lr_scheduler}" is ignored: lr_scheduler_type ${cfg.lr_scheduler_type} replaces it`);
    }
    const warm = ctx.hints.lrWarmupPercent ?? 0;
    if (warm > 0 || cfg.lr_warmup_steps > 0) {
      d.error(
        'warmup-with-scheduler-type',
        warm > 0 ? 'lr_warmup' : 'lr_warmup_steps',
        `sd-scripts raises "${cfg.lr_scheduler_type} does not require num_warmup_steps" when a warmup is set with lr_scheduler_type; set it to 0`,
      );
    }
  } else if (cfg.lr_scheduler === 'constant' && cfg.lr_warmup_steps > 0) {
    d.error(
      'warmup-with-constant',
      keyOf('lr_warmup_steps'),
      'sd-scripts raises with lr_scheduler "constant" and a warmup; use constant_with_warmup',
    );
  }

  if (cfg.sample_every_n_epochs !== undefined && cfg.sample_every_n_steps !== undefined) {
    inert(
      keyOf('sample_every_n_steps'),
      `${cfg.sample_every_n_steps} is ignored: sample_every_n_epochs is set and sd-scripts then samples by epochs only`,
    );
  }
  if (cfg.save_last_n_steps !== undefined && cfg.save_every_n_steps === undefined) {
    inert(keyOf('save_last_n_steps'), 'has no effect without save_every_n_steps');
  }
  if (cfg.keep_tokens > 0 && !cfg.shuffle_caption && cfg.caption_tag_dropout_rate === 0 && cfg.token_warmup_step === 0) {
    inert(keyOf('keep_tokens'), `${cfg.keep_tokens} has no effect without shuffle_caption or caption_tag_dropout_rate`);
  }
  if (cfg.adaptive_noise_scale !== undefined && !cfg.noise_offset) {
    d.error(
      'adaptive-without-offset',
      keyOf('adaptive_noise_scale'),
      'sd-scripts raises when it is set without noise_offset; set noise_offset',
    );
  }
  if (!given('max_grad_norm')) {
    d.warn(
      'surprising',
      'max_grad_norm',
      'not set: sd-scripts clips gradients at norm 1.0 by default (kohya_ss 21.8 has no field for it); set max_grad_norm 0 to turn clipping off',
    );
  }
  checkTextEncoderCache(cfg, keyOf, d);
  checkOptimizer(cfg, ctx, d);
  return cfg;
}

function checkLokrAlpha(cfg: TrainConfig, ctx: EffectContext, d: Diagnostics): void {
  // LyCORIS LoKr with factor -1 uses full Kronecker factors once dim >= max(b, d)/2, and every SD1.x/SDXL
  // layer has max(b, d) <= 128 (spec-lycoris.md §2.4): alpha is then replaced by the dim (scale 1).
  const factor = Number(cfg.network_args.factor ?? '-1');
  if (factor !== -1) return;
  const pairs: [string, number | undefined][] = [
    ['network_alpha', cfg.network_dim],
    ['conv_alpha', Number(cfg.network_args.conv_dim ?? Number.NaN)],
  ];
  for (const [alphaKey, dim] of pairs) {
    if (!ctx.userKeys.has(alphaKey) || dim === undefined || !(dim >= 64)) continue;
    const dimKey = alphaKey === 'network_alpha' ? 'network_dim' : 'conv_dim';
    d.warn(
      'inert',
      alphaKey,
      `has no effect: with ${dimKey} ${dim} >= 64 and factor -1, LyCORIS LoKr uses full Kronecker factors on every SD layer and sets alpha to the dim (scale 1); any ${dimKey} >= 64 trains the same adapter`,
    );
  }
}

function checkOptimizer(cfg: TrainConfig, ctx: EffectContext, d: Diagnostics): void {
  if (!isAdaptiveOptimizer(cfg.optimizer_type)) return;
  const groups = groupLearningRates(cfg).filter((g) => g.lr !== 0);
  const distinct = new Set(groups.map((g) => g.lr));
  if (distinct.size > 1) {
    const named = groups.map((g) => `${g.key} ${g.lr}`).join(' vs ');
    d.warn(
      'prodigy-group-lr',
      groups.map((g) => g.key).join(', '),
      `${cfg.optimizer_type} raises at the first step when parameter groups have different non-zero lr (${named}); make them equal, or set one to 0 to freeze that part`,
    );
  }
  const first = groupLearningRates(cfg)[0];
  if (first !== undefined && first.lr <= 0.1) {
    d.warn(
      'low-lr',
      first.key,
      `${first.lr} is low for ${cfg.optimizer_type}, whose lr multiplies the adapted step; the usual value is 1.0`,
    );
  }
  const known =
    cfg.optimizer_type.toLowerCase() === 'prodigy'
      ? PRODIGY_ARGS
      : cfg.optimizer_type.toLowerCase() === 'dadaptadam'
        ? DADAPT_ADAM_ARGS
        : undefined;
  if (known === undefined) return;
  for (const k of Object.keys(cfg.optimizer_args)) {
    if (!known.includes(k)) {
      d.warn(
        'unknown-key',
        `${ctx.origin.optimizer_args ?? 'optimizer_args'}.${k}`,
        `${cfg.optimizer_type} has no argument ${k} (it would raise TypeError); did you mean ${nearestKey(k, known)}?`,
      );
    }
  }
}
