// Preview images during training (sd-scripts sample_images_common): for every prompt of the
// prompt file, sample with the UNet + network (CFG with the negative prompt), decode with the
// VAE and write `<output>/sample/<name>_<e000001|000010>_<ii>.png`, also to TensorBoard.
// torch's default RNG state is saved and restored around it so training noise is unchanged.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { type TrainConfig, writeFileAtomic } from '../config/index.ts';
import { DDIMScheduler, EulerAncestralScheduler, type Sampler, sample } from '../diffusion/index.ts';
import type { SummaryWriter } from '../monitor/tensorboard.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { readPromptFile, type SamplePrompt } from './sample-prompts.ts';
import type { RunModels } from './setup-models.ts';
import { type StepContext, withAutocast } from './step.ts';
import { encodeCaptions, timeIdsTensor, type UNetConditioning } from './text-conditioning.ts';

/** The training autocast, which samples run under too. */
export type SamplePrecision = Pick<StepContext, 'autocast' | 'autocastDevice'>;

export type SampleRunner = (step: number, epoch: number, byEpoch: boolean, writer?: SummaryWriter) => Promise<string[]>;

function samplerFor(name: string, models: RunModels): Sampler {
  const n = name.toLowerCase();
  if (n === 'ddim') return new DDIMScheduler(models.schedule);
  if (n === 'euler_a' || n === 'k_euler_a') return new EulerAncestralScheduler(models.schedule);
  throw new Error(`sample_sampler: ${name} is not available in lyco (available: ddim, euler_a)`);
}

/** One prompt's conditioning; SDXL samples at their own size, uncropped (as the pipeline does). */
function condition(models: RunModels, text: string, w: number, h: number): UNetConditioning {
  const c: UNetConditioning = encodeCaptions(models, [text]);
  if (models.sdxl) c.timeIds = timeIdsTensor([[h, w, 0, 0, h, w]]);
  return c;
}

/** Pixels [3, H, W] in [-1, 1] → 8-bit RGB. */
function toRgb8(img: Tensor): Buffer {
  return torch.scope(() => {
    const u8 = img.add(1).mul(127.5).clamp(0, 255).round().to('uint8').permute([1, 2, 0]).contiguous();
    return Buffer.from(u8.data() as Uint8Array);
  });
}

function one(
  models: RunModels,
  p: SamplePrompt,
  sampler: Sampler,
  seed: number,
  precision: SamplePrecision,
): { rgb: Buffer; w: number; h: number } {
  const f = models.vaeFactor;
  const w = Math.max(f, Math.floor(p.width / f) * f);
  const h = Math.max(f, Math.floor(p.height / f) * f);
  const rgb = torch.noGrad(() =>
    torch.scope(() => {
      const g = new torch.Generator({ seed });
      const noise = torch.randn([1, 4, h / f, w / f], { generator: g });
      const denoise = () => {
        const cond = condition(models, p.prompt, w, h);
        const uncond = condition(models, p.negativePrompt, w, h);
        return sample((x, t, c: UNetConditioning) => models.unet.forward(x, torch.tensor([t], { dtype: 'int64' }), c.hidden, c), {
          sampler,
          steps: p.steps,
          noise,
          cond,
          uncond,
          guidanceScale: p.scale,
          generator: g,
        }).to('float32');
      };
      // The text encoder and UNet run as in training (autocast); the float32 VAE decodes outside it.
      const latents = withAutocast(precision, denoise);
      const img = models.vae.decode(latents.div(models.vae.scalingFactor));
      return toRgb8(img.select(0, 0));
    }),
  );
  return { rgb, w, h };
}

/** undefined when the config asks for no samples (sd-scripts: no prompt file, no sampling). */
export function makeSampleRunner(
  cfg: TrainConfig,
  models: RunModels,
  outputDir: string,
  log: (l: string) => void,
  precision: SamplePrecision = {},
): SampleRunner | undefined {
  if (!cfg.sample_prompts) {
    if (cfg.sample_every_n_epochs || cfg.sample_every_n_steps) log('sampling: no sample_prompts file given, so no samples (as sd-scripts)');
    return undefined;
  }
  const prompts = readPromptFile(cfg.sample_prompts);
  const dir = join(outputDir, 'sample');
  return async (step, epoch, byEpoch, writer) => {
    mkdirSync(dir, { recursive: true });
    const saved = torch.getRngState();
    const files: string[] = [];
    try {
      for (const [i, p] of prompts.entries()) {
        const { rgb, w, h } = one(models, p, samplerFor(cfg.sample_sampler, models), p.seed ?? (cfg.seed ?? 0) + i, precision);
        const suffix = byEpoch ? `e${String(epoch).padStart(6, '0')}` : String(step).padStart(6, '0');
        const file = join(dir, `${cfg.output_name ? `${cfg.output_name}_` : ''}${suffix}_${String(i).padStart(2, '0')}.png`);
        const png = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
          .png()
          .toBuffer();
        writeFileAtomic(file, png);
        writer?.addImage(`sample/${i}`, png, { width: w, height: h, channels: 3 }, step);
        files.push(file);
      }
    } finally {
      torch.setRngState(saved);
      saved.dispose();
    }
    return files;
  };
}
