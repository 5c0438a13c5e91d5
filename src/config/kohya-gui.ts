// kohya_ss GUI JSON → sd-scripts options, the way the GUI builds its command line
// (bmaltais/kohya_ss v21.8.x lora_gui.py:train_model, library/common_gui.py:run_cmd_training,
// run_cmd_advanced_training, library/class_sample_images.py:run_cmd_sample).
// mode "kohya" reproduces which keys reach sd-scripts; mode "all" passes every key as written.
import { type ArgValue, parseSdArgv } from './argv.ts';
import type { Diagnostics } from './diagnostics.ts';
import { GUI_DEFAULTS, GUI_NOT_USED } from './kohya-gui-keys.ts';
import { shellSplit } from './kv-args.ts';
import { nearestKey } from './nearest.ts';
import { SD_OPTIONS } from './sd-options.ts';

export type Mode = 'kohya' | 'all';

/** GUI values that are not sd-scripts options but feed numbers the plan computes. */
export interface GuiHints {
  /** GUI `epoch`: kohya_ss turns it into --max_train_steps with its own estimate. */
  epoch?: number;
  /** GUI `max_train_steps` field, when filled (then the estimate is not used). */
  maxTrainStepsField?: number;
  /** GUI `lr_warmup` in percent of the GUI's max_train_steps. */
  lrWarmupPercent?: number;
  /** GUI `sample_prompts` holds the prompt text; kohya_ss writes it to <output_dir>/sample/prompt.txt. */
  samplePromptsText?: string;
}

export interface GuiMapping {
  /** sd-scripts option → value (GUI arguments first, then additional_parameters, later wins). */
  args: Record<string, unknown>;
  hints: GuiHints;
  /** The GUI key each option came from, to name it in messages. */
  origin: Record<string, string>;
  /** GUI keys the mapping read (whether or not kohya_ss passed them on). */
  readKeys: ReadonlySet<string>;
}

/** LyCORIS algorithms behind the GUI's LoRA_type (v21.8.x), with the GUI keys put into network_args. */
const LYCORIS_TYPES: Record<string, { algo: string; keys: string[] }> = {
  LoCon: { algo: 'lora', keys: ['conv_dim', 'conv_alpha'] },
  'LyCORIS/LoCon': { algo: 'lora', keys: ['conv_dim', 'conv_alpha'] },
  'LyCORIS/LoHa': { algo: 'loha', keys: ['conv_dim', 'conv_alpha', 'use_cp'] },
  'LyCORIS/iA3': { algo: 'ia3', keys: ['conv_dim', 'conv_alpha', 'train_on_input'] },
  'LyCORIS/DyLoRA': { algo: 'dylora', keys: ['conv_dim', 'conv_alpha', 'use_cp', 'unit'] },
  'LyCORIS/LoKr': { algo: 'lokr', keys: ['conv_dim', 'conv_alpha', 'factor', 'use_cp'] },
};

/** kohya networks: the module and the GUI keys passed (only when truthy) as network_args. */
const BLOCK_KEYS = [
  'down_lr_weight',
  'mid_lr_weight',
  'up_lr_weight',
  'block_lr_zero_threshold',
  'block_dims',
  'block_alphas',
  'conv_block_dims',
  'conv_block_alphas',
  'rank_dropout',
  'module_dropout',
];
const KOHYA_TYPES: Record<string, { module: string; keys: string[] }> = {
  Standard: { module: 'networks.lora', keys: BLOCK_KEYS },
  'Kohya LoCon': { module: 'networks.lora', keys: ['conv_dim', 'conv_alpha', ...BLOCK_KEYS] },
  'LoRA-FA': { module: 'networks.lora_fa', keys: BLOCK_KEYS },
  'Kohya DyLoRA': { module: 'networks.dylora', keys: ['conv_dim', 'conv_alpha', ...BLOCK_KEYS, 'unit'] },
};

/** Keys of newer kohya_ss GUIs that would change the adapter and that lyco does not implement. */
const GUI_UNSUPPORTED = new Set([
  'LyCORIS_preset',
  'bypass_mode',
  'dora_wd',
  'use_tucker',
  'use_scalar',
  'rank_dropout_scale',
  'constrain',
  'rescaled',
  'train_norm',
  'loraplus_lr_ratio',
  'loraplus_text_encoder_lr_ratio',
  'loraplus_unet_lr_ratio',
  'train_lora_ggpo',
  'ggpo_sigma',
  'ggpo_beta',
  't5xxl_lr',
  'masked_loss',
  'train_inpainting',
]);

/** sd-scripts defaults that a GUI 0 cannot reach: newer GUIs drop 0 values (0 == False in Python). */
const NONZERO_DEFAULTS: Record<string, number> = { max_grad_norm: 1, prior_loss_weight: 1 };

/** Python's str() of a GUI value inside "key=value" network args. */
function pyStr(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  return String(v);
}

/** Python truthiness, which the GUI's `if value:` tests use. */
function truthy(v: unknown): boolean {
  return !(v === undefined || v === null || v === false || v === 0 || v === '');
}

export function allGuiKeys(): string[] {
  return [...Object.keys(GUI_DEFAULTS), ...GUI_NOT_USED, ...GUI_UNSUPPORTED];
}

export function mapKohyaGui(gui: Record<string, unknown>, mode: Mode, d: Diagnostics): GuiMapping {
  const all = mode === 'all';
  const used = new Set<string>();
  const args: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  const hints: GuiHints = {};
  const given = (k: string) => Object.hasOwn(gui, k);
  const get = (k: string): unknown => {
    used.add(k);
    return given(k) ? gui[k] : GUI_DEFAULTS[k];
  };
  const numOf = (k: string): number | undefined => {
    const v = get(k);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    const n = Number(String(v).trim());
    if (Number.isNaN(n)) {
      d.error('bad-value', k, `${JSON.stringify(v)} is not a number`);
      return undefined;
    }
    return n;
  };
  const strOf = (k: string): string => {
    const v = get(k);
    return v === undefined || v === null ? '' : String(v);
  };
  const boolOf = (k: string): boolean => {
    const v = get(k);
    return v === true || v === 1 || (typeof v === 'string' && /^(true|1)$/i.test(v.trim()));
  };
  const set = (opt: string, value: unknown, from: string) => {
    args[opt] = value;
    origin[opt] = from;
  };
  const setIf = (cond: boolean, opt: string, value: unknown, from: string) => {
    if (cond) set(opt, value, from);
  };
  const inert = (k: string, message: string) => d.warn('inert', k, message);

  // model and folders
  for (const k of ['v2', 'v_parameterization', 'sdxl', 'weighted_captions']) setIf(boolOf(k), k, true, k);
  for (const k of ['pretrained_model_name_or_path', 'train_data_dir', 'output_dir']) setIf(strOf(k) !== '', k, strOf(k), k);
  for (const k of ['reg_data_dir', 'logging_dir', 'training_comment', 'output_name', 'resume', 'caption_extension']) {
    setIf(strOf(k) !== '', k, strOf(k), k);
  }
  set('resolution', strOf('max_resolution'), 'max_resolution');
  if (boolOf('enable_bucket')) {
    set('enable_bucket', true, 'enable_bucket');
    set('min_bucket_reso', get('min_bucket_reso'), 'min_bucket_reso');
    set('max_bucket_reso', get('max_bucket_reso'), 'max_bucket_reso');
  } else {
    used.add('min_bucket_reso');
    used.add('max_bucket_reso');
  }
  if (boolOf('no_token_padding')) inert('no_token_padding', 'train_network.py has no --no_token_padding (only train_db.py); no effect');
  if ((numOf('stop_text_encoder_training') ?? 0) !== 0) {
    inert('stop_text_encoder_training', 'train_network.py has no --stop_text_encoder_training (only train_db.py); no effect');
  }
  const saveAs = strOf('save_model_as');
  setIf(saveAs !== '' && saveAs !== 'same as source model', 'save_model_as', saveAs, 'save_model_as');
  const plw = numOf('prior_loss_weight');
  setIf(plw !== undefined && plw !== 1, 'prior_loss_weight', plw, 'prior_loss_weight');

  // network
  set('network_alpha', get('network_alpha'), 'network_alpha');
  set('network_dim', get('network_dim'), 'network_dim');
  mapNetwork(strOf('LoRA_type'));
  const weights = strOf('lora_network_weights');
  if (weights !== '') {
    set('network_weights', weights, 'lora_network_weights');
    setIf(boolOf('dim_from_weights'), 'dim_from_weights', true, 'dim_from_weights');
  } else used.add('dim_from_weights');
  mapLearningRates();
  const swn = numOf('scale_weight_norms') ?? 0;
  setIf(swn > 0, 'scale_weight_norms', swn, 'scale_weight_norms');
  const dropout = numOf('network_dropout') ?? 0;
  setIf(dropout > 0, 'network_dropout', dropout, 'network_dropout');
  setIf(boolOf('sdxl_cache_text_encoder_outputs'), 'cache_text_encoder_outputs', true, 'sdxl_cache_text_encoder_outputs');
  setIf(boolOf('sdxl_no_half_vae'), 'no_half_vae', true, 'sdxl_no_half_vae');

  // steps (run_cmd_training / run_cmd_advanced_training)
  const ga = Math.trunc(numOf('gradient_accumulation_steps') ?? 1);
  setIf(all || ga > 1, 'gradient_accumulation_steps', ga, 'gradient_accumulation_steps');
  set('train_batch_size', get('train_batch_size'), 'train_batch_size');
  const epoch = numOf('epoch');
  hints.epoch = epoch;
  const mts = numOf('max_train_steps');
  if (mts !== undefined && mts !== 0) {
    hints.maxTrainStepsField = mts;
    set('max_train_steps', mts, 'max_train_steps');
  }
  const mte = numOf('max_train_epochs');
  if (mte !== undefined && mte !== 0) {
    set('max_train_epochs', mte, 'max_train_epochs');
    if (epoch !== undefined && given('epoch') && epoch !== mte) {
      inert('epoch', `${epoch} is not used: max_train_epochs ${mte} sets the length (sd-scripts overrides --max_train_steps)`);
    }
  } else if (all && epoch !== undefined && hints.maxTrainStepsField === undefined) {
    // As written, `epoch` means epochs; kohya_ss instead turns it into a step estimate.
    set('max_train_epochs', epoch, 'epoch');
  }
  const cycles = strOf('lr_scheduler_num_cycles');
  set('lr_scheduler_num_cycles', cycles !== '' ? cycles : epoch, cycles !== '' ? 'lr_scheduler_num_cycles' : 'epoch');
  const power = strOf('lr_scheduler_power');
  setIf(power !== '', 'lr_scheduler_power', power, 'lr_scheduler_power');
  const lr = numOf('learning_rate');
  setIf(truthy(lr), 'learning_rate', lr, 'learning_rate');
  const sched = strOf('lr_scheduler');
  setIf(sched !== '', 'lr_scheduler', sched, 'lr_scheduler');
  const warmup = numOf('lr_warmup') ?? 0;
  if (warmup !== 0) {
    if (sched === 'constant' && !all) {
      inert('lr_warmup', `${warmup}% is dropped: kohya_ss passes no warmup with lr_scheduler "constant" (use constant_with_warmup)`);
    } else hints.lrWarmupPercent = warmup;
  }
  const every = numOf('save_every_n_epochs');
  setIf(truthy(every), 'save_every_n_epochs', every === undefined ? undefined : Math.trunc(every), 'save_every_n_epochs');
  for (const k of ['mixed_precision', 'save_precision']) setIf(strOf(k) !== '', k, strOf(k), k);
  const seed = strOf('seed');
  setIf(seed !== '', 'seed', seed, 'seed');
  for (const k of ['cache_latents', 'cache_latents_to_disk']) setIf(boolOf(k), k, true, k);
  set('optimizer_type', strOf('optimizer') || 'AdamW', 'optimizer');
  for (const k of ['optimizer_args', 'lr_scheduler_args']) {
    const text = strOf(k);
    if (text.trim() !== '') set(k, splitOrError(k, text), k);
  }
  const tokenLength = numOf('max_token_length') ?? 75;
  setIf(tokenLength > 75, 'max_token_length', tokenLength, 'max_token_length');
  const clipSkip = numOf('clip_skip') ?? 1;
  setIf(clipSkip > 1, 'clip_skip', clipSkip, 'clip_skip');
  for (const k of ['keep_tokens', 'caption_dropout_every_n_epochs', 'vae_batch_size']) {
    const v = Math.trunc(numOf(k) ?? 0);
    setIf(v > 0, k, v, k);
  }
  for (const k of ['caption_dropout_rate', 'v_pred_like_loss']) {
    const v = numOf(k) ?? 0;
    setIf(v > 0, k, v, k);
  }
  set('bucket_reso_steps', Math.trunc(numOf('bucket_reso_steps') ?? 64), 'bucket_reso_steps');
  for (const k of ['save_every_n_steps', 'save_last_n_steps', 'save_last_n_steps_state']) {
    const v = Math.trunc(numOf(k) ?? 0);
    setIf(v > 0, k, v, k);
  }
  mapMinSnr();
  const minT = Math.trunc(numOf('min_timestep') ?? 0);
  setIf(minT > 0, 'min_timestep', minT, 'min_timestep');
  const maxT = Math.trunc(numOf('max_timestep') ?? 1000);
  setIf(maxT < 1000, 'max_timestep', maxT, 'max_timestep');
  for (const k of [
    'save_state',
    'color_aug',
    'flip_aug',
    'shuffle_caption',
    'gradient_checkpointing',
    'full_fp16',
    'full_bf16',
    'bucket_no_upscale',
    'random_crop',
    'scale_v_pred_loss_like_noise_pred',
  ]) {
    setIf(boolOf(k), k, true, k);
  }
  mapNoise();
  mapSampling();

  // Keys the GUI code above did not read.
  const known = new Set([...allGuiKeys(), ...SD_OPTIONS.keys()]);
  for (const k of Object.keys(gui)) {
    if (used.has(k) || k === 'additional_parameters') continue;
    const v = gui[k];
    if (GUI_NOT_USED.has(k)) {
      if (truthy(v) && v !== GUI_DEFAULTS[k]) d.info('not-used', k, `${JSON.stringify(v)}: a launcher/hardware setting lyco does not use`);
    } else if (GUI_UNSUPPORTED.has(k)) {
      if (truthy(v)) d.warn('unsupported', k, `${JSON.stringify(v)}: not implemented by lyco; ignored`);
    } else if (SD_OPTIONS.has(k)) {
      passThrough(k, v);
    } else {
      d.warn('unknown-key', k, `unknown kohya_ss key; did you mean ${nearestKey(k, known)}? ignored`);
    }
  }

  // additional_parameters come last on kohya_ss' command line, so they win (argparse keeps the last).
  const extra = strOf('additional_parameters');
  if (extra.trim() !== '') {
    const parsed = parseSdArgv(splitOrError('additional_parameters', extra), d, 'additional_parameters');
    for (const [opt, value] of Object.entries(parsed) as [string, ArgValue][]) {
      if (opt === 'network_args' && origin.network_args === 'LoRA_type') {
        d.warn(
          'replaced',
          'additional_parameters',
          `--network_args replaces the network_args kohya_ss built from LoRA_type (${(args.network_args as string[]).join(' ')}): argparse keeps only the last occurrence`,
        );
      }
      set(opt, value, 'additional_parameters');
    }
  }
  used.add('additional_parameters');
  return { args, hints, origin, readKeys: used };

  function splitOrError(k: string, text: string): string[] {
    try {
      return shellSplit(text);
    } catch (e) {
      d.error('bad-value', k, (e as Error).message);
      return [];
    }
  }

  function mapNetwork(type: string) {
    const ly = LYCORIS_TYPES[type];
    const ko = KOHYA_TYPES[type];
    if (ly) {
      set('network_module', 'lycoris.kohya', 'LoRA_type');
      const list = ly.keys.map((k) => `${k === 'unit' ? 'block_size' : k}=${pyStr(get(k))}`);
      set('network_args', [...list, `algo=${ly.algo}`], 'LoRA_type');
      // v21.8 passes neither rank_dropout nor module_dropout to LyCORIS.
      for (const k of ['rank_dropout', 'module_dropout']) {
        const v = numOf(k) ?? 0;
        if (v > 0 && !all) inert(k, `${v} is not passed to LyCORIS by kohya_ss 21.8; --apply-all-keys passes it in network_args`);
        else if (v > 0) (args.network_args as string[]).push(`${k}=${v}`);
      }
      if (boolOf('decompose_both') && type === 'LyCORIS/LoKr' && !all) {
        inert('decompose_both', 'True is not passed to LyCORIS by kohya_ss 21.8; --apply-all-keys passes it in network_args');
      } else if (boolOf('decompose_both') && type === 'LyCORIS/LoKr') (args.network_args as string[]).push('decompose_both=True');
    } else if (ko) {
      set('network_module', ko.module, 'LoRA_type');
      const list = ko.keys.filter((k) => truthy(get(k))).map((k) => `${k}=${pyStr(get(k))}`);
      if (list.length > 0) set('network_args', list, 'LoRA_type');
    } else {
      d.error(
        'bad-value',
        'LoRA_type',
        `${JSON.stringify(type)} is not allowed; expected one of ${[...Object.keys(KOHYA_TYPES), ...Object.keys(LYCORIS_TYPES)].join(', ')}`,
      );
    }
    for (const k of ['conv_dim', 'conv_alpha', 'factor', 'use_cp', 'train_on_input', 'unit', ...BLOCK_KEYS]) used.add(k);
  }

  function mapLearningRates() {
    const te = numOf('text_encoder_lr') ?? 0;
    const unet = numOf('unet_lr') ?? 0;
    if (te !== 0 && unet !== 0) {
      set('text_encoder_lr', te, 'text_encoder_lr');
      set('unet_lr', unet, 'unet_lr');
    } else if (te !== 0) {
      set('text_encoder_lr', te, 'text_encoder_lr');
      set('network_train_text_encoder_only', true, 'unet_lr');
    } else if (unet !== 0) {
      set('unet_lr', unet, 'unet_lr');
      set('network_train_unet_only', true, 'text_encoder_lr');
    } else if (!truthy(numOf('learning_rate'))) {
      d.error(
        'bad-value',
        'learning_rate',
        'kohya_ss needs a learning rate: learning_rate, unet_lr and text_encoder_lr are all 0 or empty',
      );
    }
  }

  function mapMinSnr() {
    const g = numOf('min_snr_gamma') ?? 0;
    if (all) {
      setIf(g > 0, 'min_snr_gamma', g, 'min_snr_gamma');
      return;
    }
    // v21.8: `int(min_snr_gamma)`, passed only when >= 1.
    const t = Math.trunc(g);
    if (t >= 1) set('min_snr_gamma', t, 'min_snr_gamma');
    if (g !== t && g > 0) {
      inert(
        'min_snr_gamma',
        t >= 1
          ? `${g} is truncated to ${t} by kohya_ss 21.8; --apply-all-keys uses ${g}`
          : `${g} is dropped by kohya_ss 21.8 (int() gives 0); --apply-all-keys uses ${g}`,
      );
    }
  }

  function mapNoise() {
    const type = strOf('noise_offset_type') || 'Original';
    const offset = numOf('noise_offset') ?? 0;
    const adaptive = numOf('adaptive_noise_scale') ?? 0;
    const iters = Math.trunc(numOf('multires_noise_iterations') ?? 0);
    const discount = numOf('multires_noise_discount') ?? 0;
    if (type !== 'Original' && type !== 'Multires') {
      d.error('bad-value', 'noise_offset_type', `${JSON.stringify(type)} is not allowed; expected Original or Multires`);
    }
    const original = type === 'Original';
    if (all) {
      setIf(offset !== 0, 'noise_offset', offset, 'noise_offset');
      setIf(adaptive !== 0, 'adaptive_noise_scale', adaptive, 'adaptive_noise_scale');
      setIf(iters > 0, 'multires_noise_iterations', iters, 'multires_noise_iterations');
      setIf(iters > 0 || discount > 0, 'multires_noise_discount', discount, 'multires_noise_discount');
      return;
    }
    if (original) {
      set('noise_offset', offset, 'noise_offset');
      if (adaptive !== 0 && offset > 0) set('adaptive_noise_scale', adaptive, 'adaptive_noise_scale');
      else if (adaptive !== 0) inert('adaptive_noise_scale', `${adaptive} is not passed: kohya_ss needs noise_offset > 0 for it`);
      if (iters > 0) inert('multires_noise_iterations', `${iters} is not passed: noise_offset_type is "Original"; set it to "Multires"`);
      if (discount > 0)
        inert('multires_noise_discount', `${discount} is not passed: noise_offset_type is "Original"; set it to "Multires"`);
      return;
    }
    const why = `is not passed: noise_offset_type is "Multires" (kohya_ss sends only the multires keys); set "Original" or use --apply-all-keys to apply both`;
    if (offset !== 0) inert('noise_offset', `${offset} ${why}`);
    if (adaptive !== 0) inert('adaptive_noise_scale', `${adaptive} ${why}`);
    if (iters > 0) set('multires_noise_iterations', iters, 'multires_noise_iterations');
    if (discount > 0) set('multires_noise_discount', discount, 'multires_noise_discount');
    else if (iters > 0) {
      inert(
        'multires_noise_discount',
        `${discount} is not passed (kohya_ss sends only values > 0), so sd-scripts' default 0.3 applies; --apply-all-keys uses ${discount}`,
      );
    }
  }

  function mapSampling() {
    const epochs = numOf('sample_every_n_epochs') ?? 0;
    const steps = numOf('sample_every_n_steps') ?? 0;
    const prompts = strOf('sample_prompts');
    used.add('sample_sampler');
    if (epochs === 0 && steps === 0) return;
    set('sample_sampler', strOf('sample_sampler'), 'sample_sampler');
    if (prompts !== '') hints.samplePromptsText = prompts;
    setIf(epochs !== 0, 'sample_every_n_epochs', epochs, 'sample_every_n_epochs');
    setIf(steps !== 0, 'sample_every_n_steps', steps, 'sample_every_n_steps');
  }

  function passThrough(k: string, v: unknown) {
    // Newer GUIs write such keys to a TOML and drop "", False, None and 0 (0 == False in Python).
    if (!truthy(v) && !all) {
      const def = NONZERO_DEFAULTS[k];
      if (v === 0 && def !== undefined) {
        inert(
          k,
          `0 is dropped by kohya_ss (0 == False in its TOML writer), so sd-scripts' default ${def} applies; --apply-all-keys uses 0`,
        );
      }
      return;
    }
    const kind = SD_OPTIONS.get(k);
    if ((kind === 'str*' || kind === 'float*') && typeof v === 'string') set(k, splitOrError(k, v), k);
    else set(k, v, k);
  }
}
