// Stage 2: text encoder and UNet together, from scratch, on the epsilon objective over the
// frozen VAE's latents (posterior samples × scaling factor), as SD trains its UNet; the text
// encoder learns through the same loss (there is no pretrained CLIP to freeze). 10% of
// captions are dropped to "" so classifier-free guidance has an unconditional model.

import { NoiseSchedule } from '../../src/diffusion/index.ts';
import { type CLIPTextConfig, CLIPTextModel, encodeSd } from '../../src/models/clip/index.ts';
import { type UNet2DConditionConfig, UNet2DConditionModel } from '../../src/models/index.ts';
import { AdamW, LambdaLR, schedules } from '../../src/optim/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import type { Log } from './log.ts';

export interface DiffusionTraining {
  steps: number;
  batch: number;
  lr: number;
  captionDropout: number;
}

export interface DiffusionData {
  /** Unscaled posterior means and stds, [N, 4, h, w]. */
  mean: Tensor;
  std: Tensor;
  scalingFactor: number;
  /** [N, 77] caption ids of each image, and [77] ids of the empty caption. */
  ids: Tensor;
  emptyIds: Tensor;
}

export function trainDiffusion(
  configs: { text: CLIPTextConfig; unet: UNet2DConditionConfig },
  data: DiffusionData,
  t: DiffusionTraining,
  generator: torch.Generator,
  log: Log,
): { textEncoder: CLIPTextModel; unet: UNet2DConditionModel } {
  const te = new CLIPTextModel(configs.text);
  const unet = new UNet2DConditionModel(configs.unet);
  const schedule = new NoiseSchedule();
  const opt = new AdamW([...te.parameters(), ...unet.parameters()], { lr: t.lr, weightDecay: 0.01 });
  const sched = new LambdaLR(opt, schedules.cosine(Math.min(200, t.steps / 10), t.steps));
  const n = data.mean.shape[0];
  let recent = 0;
  for (let step = 1; step <= t.steps; step++) {
    recent += torch.scope(() => {
      const idx = torch.randint(0, n, [t.batch], { generator, dtype: 'int64' });
      const mean = data.mean.indexSelect(0, idx);
      const noiseZ = torch.randn(mean.shape, { generator });
      const latents = mean.add(data.std.indexSelect(0, idx).mul(noiseZ)).mul(data.scalingFactor);
      const drop = torch.rand([t.batch, 1], { generator }).lt(t.captionDropout);
      const ids = torch.where(drop, data.emptyIds.view(1, -1), data.ids.indexSelect(0, idx));
      const noise = torch.randn(latents.shape, { generator });
      const timesteps = torch.randint(0, schedule.numTrainTimesteps, [t.batch], { generator, dtype: 'int64' });
      const noisy = schedule.addNoise(latents, noise, timesteps);
      const pred = unet.forward(noisy, timesteps, encodeSd(te, ids));
      const loss = torch.F.mseLoss(pred, noise);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      sched.step();
      return loss.item();
    });
    if (step % 100 === 0 || step === t.steps) {
      log(`unet+text step ${step}/${t.steps}: loss ${(recent / (step % 100 || 100)).toFixed(4)}`);
      recent = 0;
    }
  }
  opt.dispose();
  schedule.dispose();
  for (const m of [te, unet]) m.eval().requiresGrad_(false);
  return { textEncoder: te, unet };
}
