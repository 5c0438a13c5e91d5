// Loads what a run trains against: the frozen UNet, VAE and text encoder(s), the CLIP
// tokenizer(s), and the DDPM noise schedule sd-scripts
// trains with. SDXL (sd-scripts' sdxl_train_network.py) has two encoders and tokenizers: OpenAI's
// CLIP-L padded with EOS and OpenCLIP bigG padded with "!".
import { basename } from 'node:path';
import type { TrainConfig } from '../config/index.ts';
import { NoiseSchedule } from '../diffusion/index.ts';
import { buildTextEncoder, type CLIPTextModel, loadTextEncoderWeights, parseClipTextConfig } from '../models/clip/index.ts';
import { type AutoencoderKL, fileDtype, type LoadedModel, loadModel, type UNet2DConditionModel } from '../models/index.ts';
import { type CLIPTokenizer, loadClipTokenizer } from '../models/tokenizer/index.ts';
import { type Module, storeFrozenWeights, withoutInit } from '../nn/index.ts';

export type BaseModelVersion = 'sd_v1' | 'sd_v2' | 'sd_v2_v' | 'sdxl_base_v1-0';

export interface RunModels {
  path: string;
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  /** One encoder (SD1/SD2), or CLIP-L then bigG with projection (SDXL). */
  textEncoders: CLIPTextModel[];
  tokenizers: CLIPTokenizer[];
  sdxl: boolean;
  schedule: NoiseSchedule;
  /** Image side / latent side (8 for SD; smaller for tiny test models). */
  vaeFactor: number;
  baseModel: BaseModelVersion;
  messages: string[];
  dispose(): void;
}

/** SDXL from the file's keys or (diffusers folders) the UNet's added text_time embedding. */
function isSdxl(m: LoadedModel): boolean {
  return m.family === 'sdxl' || m.unet?.config.addition_embed_type === 'text_time';
}

function checkFamily(cfg: TrainConfig, sdxl: boolean, path: string, messages: string[]): void {
  if (sdxl && cfg.v2) throw new Error(`${path} is an SDXL model; v2 is for SD 2.x models: turn v2 off`);
  if (cfg.sdxl && !sdxl)
    throw new Error(`sdxl is set but ${path} is not an SDXL model (no second text encoder / text_time UNet): turn sdxl off`);
  // kohya_ss picks sdxl_train_network.py from the checkbox; the model decides here.
  if (sdxl && !cfg.sdxl) messages.push(`${basename(path)} is an SDXL model: training it as SDXL (set sdxl to say so in the config)`);
  if (sdxl && cfg.clip_skip !== undefined && cfg.clip_skip > 1) {
    messages.push(`clip_skip ${cfg.clip_skip} has no effect on SDXL: both encoders' penultimate layers are used (as sd-scripts)`);
  }
}

/**
 * How the frozen weights are held. bf16: in bf16 under bf16 autocast, as sd-scripts' weight_dtype
 * (CPU autocast has no group_norm rule, so norms run in bf16 too). Otherwise linear/conv/embedding
 * weights stay half when the checkpoint ships them half, or become fp16 with mixed_precision fp16
 * (sd-scripts' weight_dtype), and compute in float32 (nn/frozen.ts): for an fp16 checkpoint the
 * same numbers as float32 weights, at half the memory. Norms and the rest are float32.
 */
function holdFrozen(mod: Module, cfg: TrainConfig): void {
  if (cfg.mixed_precision === 'bf16') {
    mod.to({ dtype: 'bfloat16' });
    return;
  }
  // Modules are built in the file's dtype, so their own weights say what the checkpoint ships.
  const fileDt = fileDtype(mod.stateDict());
  const half = cfg.mixed_precision === 'fp16' ? 'float16' : fileDt === 'float16' || fileDt === 'bfloat16' ? fileDt : undefined;
  if (half) storeFrozenWeights(mod, half);
  else mod.to({ dtype: 'float32' });
}

export function loadRunModels(cfg: TrainConfig, o: { model: string; tokenizer?: string }): RunModels {
  // Weights load in the file's dtype (no float32 copy of an fp16 checkpoint); holdFrozen decides.
  const m = loadModel(o.model, { components: ['unet', 'vae'] });
  const built: { dispose(): void }[] = [];
  const messages = [`model ${basename(o.model)}`];
  let sdxl = false;
  let textEncoders: CLIPTextModel[] = [];
  try {
    if (m.unet) built.push(m.unet);
    if (m.vae) built.push(m.vae);
    sdxl = isSdxl(m);
    checkFamily(cfg, sdxl, o.model, messages);
    const wanted = sdxl ? (['text_encoder', 'text_encoder_2'] as const) : (['text_encoder'] as const);
    if (!m.unet || !m.vae || wanted.some((c) => !m.textEncoders[c])) {
      throw new Error(`${o.model}: needs a UNet, a VAE and ${sdxl ? 'both SDXL text encoders' : 'a text encoder'} to train`);
    }
    textEncoders = wanted.map((c, i) => {
      const part = m.textEncoders[c] as NonNullable<LoadedModel['textEncoders'][typeof c]>;
      const dtype = fileDtype(part.stateDict);
      const te = withoutInit(() => buildTextEncoder(parseClipTextConfig(part.config, `${o.model} (${c})`), i === 1), {
        dtype,
      }) as CLIPTextModel;
      built.push(te);
      loadTextEncoderWeights(te, part.stateDict, `${o.model} (${c})`);
      return te;
    });
  } catch (e) {
    for (const b of built) b.dispose();
    throw e;
  } finally {
    m.release();
  }
  const unet = m.unet as UNet2DConditionModel;
  const vae = m.vae as AutoencoderKL;
  const v2 = !sdxl && (cfg.v2 || m.family === 'sd2');
  // SD2's and SDXL encoder 2's OpenCLIP tokenizer pads with "!" (id 0); OpenAI's with EOS.
  const pads: ('eos' | '!')[] = sdxl ? ['eos', '!'] : [v2 ? '!' : 'eos'];
  const tokenizers = pads.map((pad, i) => {
    const tok = loadClipTokenizer({ tokenizer: o.tokenizer, modelDir: o.model, subfolder: i === 0 ? 'tokenizer' : 'tokenizer_2' }, { pad });
    messages.push(tok.message);
    return tok.tokenizer;
  });
  for (const mod of [unet, vae, ...textEncoders]) mod.requiresGrad_(false).eval();
  for (const mod of [unet, ...textEncoders]) holdFrozen(mod, cfg);
  // The VAE encodes latents (cached, no grad) and decodes samples outside autocast: never bf16.
  holdFrozen(vae, { ...cfg, mixed_precision: 'no' });
  const schedule = new NoiseSchedule({
    predictionType: cfg.v_parameterization ? 'v_prediction' : 'epsilon',
    zeroTerminalSnr: cfg.zero_terminal_snr,
  });
  return {
    path: o.model,
    unet,
    vae,
    textEncoders,
    tokenizers,
    sdxl,
    schedule,
    vaeFactor: 2 ** (vae.config.block_out_channels.length - 1),
    baseModel: sdxl ? 'sdxl_base_v1-0' : v2 ? (cfg.v_parameterization ? 'sd_v2_v' : 'sd_v2') : 'sd_v1',
    messages,
    dispose() {
      for (const mod of [unet, vae, ...textEncoders]) mod.dispose();
      for (const t of [schedule.betas, schedule.alphas, schedule.alphasCumprod, schedule.allSnr]) t.dispose();
    },
  };
}
