// Loads what a run trains against: the frozen UNet, VAE and text encoder (float32 weights; mixed
// precision is autocast), the CLIP tokenizer, and the DDPM noise schedule sd-scripts trains with.
import { basename } from 'node:path';
import type { TrainConfig } from '../config/index.ts';
import { NoiseSchedule } from '../diffusion/index.ts';
import { buildTextEncoder, type CLIPTextModel, loadTextEncoderWeights, parseClipTextConfig } from '../models/clip/index.ts';
import { type AutoencoderKL, loadModel, type UNet2DConditionModel } from '../models/index.ts';
import { type CLIPTokenizer, loadClipTokenizer } from '../models/tokenizer/index.ts';

export interface RunModels {
  path: string;
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  textEncoder: CLIPTextModel;
  tokenizer: CLIPTokenizer;
  schedule: NoiseSchedule;
  /** Image side / latent side (8 for SD; smaller for tiny test models). */
  vaeFactor: number;
  baseModel: 'sd_v1' | 'sd_v2' | 'sd_v2_v';
  messages: string[];
  dispose(): void;
}

export function loadRunModels(cfg: TrainConfig, o: { model: string; tokenizer?: string }): RunModels {
  if (cfg.sdxl) throw new Error('SDXL training is not wired into lyco train yet; use an SD 1.x / 2.x model');
  const m = loadModel(o.model, { dtype: 'float32', components: ['unet', 'vae'] });
  const te = m.textEncoders.text_encoder;
  if (!m.unet || !m.vae || !te) {
    m.release();
    throw new Error(`${o.model}: needs a UNet, a VAE and a text encoder to train`);
  }
  const textEncoder = buildTextEncoder(parseClipTextConfig(te.config, `${o.model} (text_encoder)`), false) as CLIPTextModel;
  loadTextEncoderWeights(textEncoder, te.stateDict, `${o.model} (text_encoder)`);
  m.release();
  const v2 = cfg.v2 || m.family === 'sd2';
  const tok = loadClipTokenizer({ tokenizer: o.tokenizer, modelDir: o.model, subfolder: 'tokenizer' }, { pad: v2 ? '!' : 'eos' });
  for (const mod of [m.unet, m.vae, textEncoder]) mod.requiresGrad_(false).eval();
  // bf16: frozen weights in bf16 as sd-scripts' weight_dtype (CPU autocast has no group_norm rule); adapters stay float32.
  if (cfg.mixed_precision === 'bf16') for (const mod of [m.unet, textEncoder]) mod.to({ dtype: 'bfloat16' });
  const schedule = new NoiseSchedule({
    predictionType: cfg.v_parameterization ? 'v_prediction' : 'epsilon',
    zeroTerminalSnr: cfg.zero_terminal_snr,
  });
  const unet = m.unet;
  const vae = m.vae;
  return {
    path: o.model,
    unet,
    vae,
    textEncoder,
    tokenizer: tok.tokenizer,
    schedule,
    vaeFactor: 2 ** (vae.config.block_out_channels.length - 1),
    baseModel: v2 ? (cfg.v_parameterization ? 'sd_v2_v' : 'sd_v2') : 'sd_v1',
    messages: [`model ${basename(o.model)}`, tok.message],
    dispose() {
      for (const mod of [unet, vae, textEncoder]) mod.dispose();
      for (const t of [schedule.betas, schedule.alphas, schedule.alphasCumprod, schedule.allSnr]) t.dispose();
    },
  };
}
