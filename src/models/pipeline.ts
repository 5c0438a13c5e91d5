// Text → image, as diffusers' StableDiffusionPipeline / StableDiffusionXLPipeline do it, on lyco's
// models: tokenizer(s) → text encoder(s) (clip skip; SDXL: both penultimate states + pooled
// text_embeds + time_ids) → sampler loop over the UNet with classifier-free guidance → VAE
// decode → 8-bit RGB. Runs in float32 (CPU kernels have no half-precision layer norm).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { DDIMScheduler, EulerAncestralScheduler, NoiseSchedule, type PredictionType, type Sampler, sample } from '../diffusion/index.ts';
import { withoutInit } from '../nn/init.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import {
  buildTextEncoder,
  type CLIPTextModel,
  type CLIPTextModelWithProjection,
  encodeSd,
  encodeSdxl,
  loadTextEncoderWeights,
  parseClipTextConfig,
} from './clip/index.ts';
import type { Family } from './convert/index.ts';
import { type LoadedModel, loadModel } from './load.ts';
import { type AppliedAdapter, applyAdapterFile } from './pipeline-adapter.ts';
import { type CLIPTokenizer, loadClipTokenizer, type MaxTokenLength, sdScriptsInputIds } from './tokenizer/index.ts';
import type { UNet2DConditionModel } from './unet/unet-2d-condition.ts';
import type { AutoencoderKL } from './vae/autoencoder-kl.ts';

export type SamplerName = 'ddim' | 'euler_a';
export const SAMPLERS: SamplerName[] = ['ddim', 'euler_a'];

export interface PipelineOptions {
  /** --tokenizer: where the CLIP vocabulary is when the model folder has none. */
  tokenizer?: string;
  /** Adapter .safetensors merged into the weights at `multiplier` (default 1). */
  network?: string;
  multiplier?: number;
  /** Overrides the scheduler config (single files carry none: SD2 768-v models need v_prediction). */
  predictionType?: PredictionType;
  /** SD1.x/SD2.x clip skip (1 = last layer); SDXL always uses the penultimate layers. */
  clipSkip?: number;
  /** sd-scripts --max_token_length: prompts of up to 75/150/225 tokens in 77-token chunks. */
  maxTokenLength?: MaxTokenLength;
  /** Progress and provenance lines (tokenizer used, adapter merged). */
  log?: (msg: string) => void;
}

export interface GenerateOptions {
  prompt: string;
  negative?: string;
  steps?: number;
  /** Classifier-free guidance scale; 1 runs the model once per step without the negative. */
  cfg?: number;
  sampler?: SamplerName;
  seed?: number;
  width?: number;
  height?: number;
  onStep?: (i: number, steps: number) => void;
}

export interface GeneratedImage {
  /** RGB, 8 bits, row-major (height × width × 3). */
  data: Uint8Array;
  width: number;
  height: number;
  seed: number;
}

interface Conditioning {
  hidden: Tensor;
  textEmbeds?: Tensor;
}

/** What a diffusers folder (no family in its keys) is, from the UNet and text encoder configs. */
function familyOf(m: LoadedModel, unet: UNet2DConditionModel): Family {
  if (m.family) return m.family;
  if (unet.config.addition_embed_type === 'text_time') return 'sdxl';
  const te = m.textEncoders.text_encoder?.config;
  return te?.hidden_act === 'gelu' || unet.config.use_linear_projection ? 'sd2' : 'sd1';
}

/** scheduler/scheduler_config.json of a diffusers folder, if any. */
function schedulerConfig(path: string): Record<string, unknown> {
  const file = join(path, 'scheduler', 'scheduler_config.json');
  if (!statSync(path).isDirectory() || !existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8'));
}

const FAMILY_NAME: Record<Family, string> = { sd1: 'SD1.x', sd2: 'SD2.x', sdxl: 'SDXL' };

export class StableDiffusionPipeline {
  readonly family: Family;
  readonly schedule: NoiseSchedule;
  readonly adapter?: AppliedAdapter;
  private readonly tokenizers: CLIPTokenizer[] = [];

  private constructor(
    readonly path: string,
    readonly unet: UNet2DConditionModel,
    readonly vae: AutoencoderKL,
    readonly textEncoders: CLIPTextModel[],
    family: Family,
    private readonly o: PipelineOptions,
  ) {
    this.family = family;
    const sc = schedulerConfig(path);
    this.schedule = new NoiseSchedule({
      numTrainTimesteps: (sc.num_train_timesteps as number | undefined) ?? 1000,
      betaStart: (sc.beta_start as number | undefined) ?? 0.00085,
      betaEnd: (sc.beta_end as number | undefined) ?? 0.012,
      betaSchedule: (sc.beta_schedule as 'scaled_linear' | 'linear' | undefined) ?? 'scaled_linear',
      predictionType: o.predictionType ?? (sc.prediction_type as PredictionType | undefined) ?? 'epsilon',
    });
  }

  /**
   * Loads a single-file checkpoint or diffusers folder with its text encoders and tokenizers,
   * then merges the adapter if one is given. Every failure is one line naming what to fix.
   */
  static load(path: string, o: PipelineOptions = {}): StableDiffusionPipeline {
    const m = loadModel(path, { dtype: 'float32' });
    const built: { dispose(): void }[] = [];
    try {
      const unet = m.unet!;
      built.push(unet);
      if (!m.vae) throw new Error(`${path}: no VAE (vae/config.json) in this model folder; sampling needs it to decode images`);
      built.push(m.vae);
      const family = familyOf(m, unet);
      const wanted = family === 'sdxl' ? (['text_encoder', 'text_encoder_2'] as const) : (['text_encoder'] as const);
      const encoders = wanted.map((c, i) => {
        const part = m.textEncoders[c];
        if (!part) throw new Error(`${path}: ${FAMILY_NAME[family]} model without ${c}; sampling needs its text encoder`);
        // Built without random init: the strict load below writes every weight.
        const te = withoutInit(() => buildTextEncoder(parseClipTextConfig(part.config, `${path} (${c})`), i === 1));
        built.push(te);
        loadTextEncoderWeights(te, part.stateDict, `${path} (${c})`);
        return te;
      });
      const width = encoders.reduce((a, te) => a + te.config.hidden_size, 0);
      const cross = unet.config.cross_attention_dim;
      if (typeof cross === 'number' && cross !== width) {
        throw new Error(
          `${path}: the text encoder${encoders.length > 1 ? 's give' : ' gives'} ${width}-wide states but the UNet expects ${cross} (${FAMILY_NAME[family]} parts mixed with another model's)`,
        );
      }
      for (const x of [unet, m.vae, ...encoders]) x.requiresGrad_(false).eval();
      const p = new StableDiffusionPipeline(path, unet, m.vae, encoders, family, o);
      p.loadTokenizers();
      if (o.network) p.mergeAdapter(o.network, o.multiplier ?? 1);
      return p;
    } catch (e) {
      for (const b of built) b.dispose();
      throw e;
    } finally {
      m.release();
    }
  }

  private loadTokenizers(): void {
    const modelDir = statSync(this.path).isDirectory() ? this.path : undefined;
    // SD2.x's and SDXL encoder 2's OpenCLIP tokenizer pads with "!" (id 0); OpenAI's with EOS.
    const pads: ('eos' | '!')[] = this.family === 'sd1' ? ['eos'] : this.family === 'sd2' ? ['!'] : ['eos', '!'];
    pads.forEach((pad, i) => {
      const { tokenizer, message } = loadClipTokenizer(
        { tokenizer: this.o.tokenizer, modelDir, subfolder: i === 0 ? 'tokenizer' : 'tokenizer_2' },
        { pad },
      );
      this.o.log?.(message);
      this.tokenizers.push(tokenizer);
    });
  }

  private mergeAdapter(path: string, multiplier: number): void {
    const applied = applyAdapterFile({ unet: this.unet, textEncoders: this.textEncoders }, path, multiplier);
    (this as { adapter?: AppliedAdapter }).adapter = applied;
    this.o.log?.(`adapter ${path}: ${applied.modules} modules merged × ${multiplier}`);
  }

  /** The factor between image and latent size (8 for every SD VAE). */
  get vaeScaleFactor(): number {
    return 2 ** (this.vae.config.block_out_channels.length - 1);
  }

  /** [1, n, 77] int64 ids of one prompt for tokenizer i. */
  private ids(i: number, text: string): Tensor {
    return torch.tensor([sdScriptsInputIds(this.tokenizers[i], text, this.o.maxTokenLength)], { dtype: 'int64' });
  }

  /** UNet conditioning of one prompt (the negative prompt goes through the same path). */
  encodePrompt(text: string): Conditioning {
    return torch.noGrad(() =>
      torch.scope(() => {
        if (this.family !== 'sdxl') return { hidden: encodeSd(this.textEncoders[0], this.ids(0, text), this.o.clipSkip) };
        const c = encodeSdxl(
          this.textEncoders[0],
          this.textEncoders[1] as CLIPTextModelWithProjection,
          this.ids(0, text),
          this.ids(1, text),
          this.tokenizers[1].eosTokenId,
        );
        return { hidden: c.hidden, textEmbeds: c.textEmbeds };
      }),
    );
  }

  private sampler(name: SamplerName): Sampler {
    if (name === 'ddim') return new DDIMScheduler(this.schedule);
    if (name === 'euler_a') return new EulerAncestralScheduler(this.schedule);
    throw new Error(`sampler '${name}' is not one of ${SAMPLERS.join(', ')}`);
  }

  /** Generates one image; the same seed and options give the same pixels. */
  generate(g: GenerateOptions): GeneratedImage {
    const width = g.width ?? (this.family === 'sdxl' ? 1024 : 512);
    const height = g.height ?? width;
    const f = this.vaeScaleFactor;
    if (width % f !== 0 || height % f !== 0 || width <= 0 || height <= 0)
      throw new Error(`image size ${width}x${height}: width and height must be positive multiples of ${f}`);
    const steps = g.steps ?? 20;
    const cfg = g.cfg ?? 7.5;
    const seed = g.seed ?? Math.floor(Math.random() * 2 ** 31);
    const sampler = this.sampler(g.sampler ?? 'euler_a');
    const data = torch.noGrad(() =>
      torch.scope(() => {
        const cond = this.encodePrompt(g.prompt);
        const uncond = cfg !== 1 ? this.encodePrompt(g.negative ?? '') : undefined;
        // SDXL micro-conditioning: original size, crop top-left (0, 0), target size.
        const timeIds = this.family === 'sdxl' ? torch.tensor([[height, width, 0, 0, height, width]]) : undefined;
        const generator = new torch.Generator({ seed });
        const noise = torch.randn([1, this.unet.config.in_channels, height / f, width / f], { generator });
        const latents = sample(
          (x, t, c: Conditioning) => this.unet.forward(x, torch.tensor([t]), c.hidden, { textEmbeds: c.textEmbeds, timeIds }),
          {
            sampler,
            steps,
            noise,
            cond,
            uncond,
            guidanceScale: cfg,
            generator,
            onStep: (i) => g.onStep?.(i, steps),
          },
        );
        const image = this.vae.decode(latents.div(this.vae.scalingFactor));
        return toRgb8(image.select(0, 0));
      }),
    );
    return { data, width, height, seed };
  }

  dispose(): void {
    for (const m of [this.unet, this.vae, ...this.textEncoders]) m.dispose();
  }
}

/** [3, H, W] in about [-1, 1] → RGB bytes, H × W × 3. */
function toRgb8(image: Tensor): Uint8Array {
  return torch.scope(() => {
    const bytes = image.div(2).add(0.5).clamp(0, 1).mul(255).round().to('uint8').permute(1, 2, 0).contiguous();
    return new Uint8Array(bytes.data() as Uint8Array);
  });
}

/** Writes a generated image as PNG. */
export async function savePng(path: string, img: GeneratedImage): Promise<void> {
  await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toFile(path);
}
