// Text → 32x32 images with the tiny model, a batch at a time (the grid and the metric need
// dozens): prompts → CLIP ids → text states → DDIM or Euler-a with classifier-free guidance →
// VAE decode → RGB bytes. Each image's starting noise comes from its own seed, so an image
// does not depend on what else is in the batch (with DDIM, which adds no noise per step).
import { DDIMScheduler, EulerAncestralScheduler, NoiseSchedule, sample } from '../diffusion/index.ts';
import { type CLIPTextModel, encodeSd } from '../models/clip/index.ts';
import type { AutoencoderKL, UNet2DConditionModel } from '../models/index.ts';
import type { CLIPTokenizer } from '../models/tokenizer/index.ts';
import * as torch from '../torch/index.ts';
import { toPixels } from './images.ts';

export interface TextToImage {
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  textEncoder: CLIPTextModel;
  tokenizer: CLIPTokenizer;
}

export interface GenerateOptions {
  steps?: number;
  cfg?: number;
  sampler?: 'ddim' | 'euler_a';
  /** Latent side (image side / 4). */
  latentSize?: number;
}

/** [n, 77] int64 ids, padded with EOS as SD1.x's tokenizer does. */
export function captionIds(tokenizer: CLIPTokenizer, captions: readonly string[]): torch.Tensor {
  const rows = captions.map((c) => tokenizer.encode(c, { maxLength: tokenizer.modelMaxLength, truncation: true, padding: true }));
  return torch.tensor(rows, { dtype: 'int64' });
}

/** One image per (prompt, seed) pair. */
export function generate(m: TextToImage, prompts: readonly string[], seeds: readonly number[], o: GenerateOptions = {}): Uint8Array[] {
  const steps = o.steps ?? 20;
  const cfg = o.cfg ?? 4;
  const side = o.latentSize ?? 8;
  const channels = m.unet.config.in_channels;
  return torch.noGrad(() =>
    torch.scope(() => {
      const schedule = new NoiseSchedule();
      const sampler = o.sampler === 'euler_a' ? new EulerAncestralScheduler(schedule) : new DDIMScheduler(schedule);
      const cond = encodeSd(m.textEncoder, captionIds(m.tokenizer, prompts));
      const uncond = encodeSd(
        m.textEncoder,
        captionIds(
          m.tokenizer,
          prompts.map(() => ''),
        ),
      );
      const noise = torch.cat(seeds.map((s) => torch.randn([1, channels, side, side], { generator: new torch.Generator({ seed: s }) })));
      const generator = new torch.Generator({ seed: seeds[0] ?? 0 });
      const latents = sample((x, t, c: torch.Tensor) => m.unet.forward(x, torch.tensor([t]), c), {
        sampler,
        steps,
        noise,
        cond,
        uncond,
        guidanceScale: cfg,
        generator,
      });
      const images = toPixels(m.vae.decode(latents.div(m.vae.scalingFactor)));
      schedule.dispose();
      return images;
    }),
  );
}
