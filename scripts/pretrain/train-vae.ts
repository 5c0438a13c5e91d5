// Stage 1: the autoencoder. Reconstruction (MSE in [-1, 1]) plus a small KL to N(0, 1) per
// latent element, decoding posterior samples as SD's VAE was trained (without its perceptual
// and adversarial terms: flat shapes need neither). AdamW, warmup then cosine decay.
import { AutoencoderKL, type AutoencoderKLConfig } from '../../src/models/index.ts';
import { AdamW, LambdaLR, schedules } from '../../src/optim/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import type { Log } from './log.ts';

export interface VaeTraining {
  steps: number;
  batch: number;
  lr: number;
  klWeight: number;
}

export function trainVae(config: AutoencoderKLConfig, images: Tensor, t: VaeTraining, generator: torch.Generator, log: Log): AutoencoderKL {
  const vae = new AutoencoderKL(config);
  const opt = new AdamW(vae.parameters(), { lr: t.lr, weightDecay: 0.01 });
  const sched = new LambdaLR(opt, schedules.cosine(Math.min(100, t.steps / 10), t.steps));
  const n = images.shape[0];
  let recent = 0;
  for (let step = 1; step <= t.steps; step++) {
    const [rec, kl] = torch.scope(() => {
      const idx = torch.randint(0, n, [t.batch], { generator, dtype: 'int64' });
      const x = images.indexSelect(0, idx);
      const post = vae.encode(x);
      const y = vae.decode(post.sample({ generator }));
      const rec = torch.F.mseLoss(y, x);
      const kl = post
        .kl()
        .mean()
        .div(post.mean.numel() / t.batch);
      opt.zeroGrad();
      rec.add(kl.mul(t.klWeight)).backward();
      opt.step();
      sched.step();
      return [rec.item(), kl.item()];
    });
    recent += rec;
    if (step % 100 === 0 || step === t.steps) {
      log(`vae step ${step}/${t.steps}: mse ${(recent / (step % 100 || 100)).toFixed(5)}, kl/elem ${kl.toFixed(3)}`);
      recent = 0;
    }
  }
  opt.dispose();
  return vae.eval().requiresGrad_(false);
}

/** Posterior means and stds of every image, in batches without gradient. */
export function encodeAll(vae: AutoencoderKL, images: Tensor, batch = 256): { mean: Tensor; std: Tensor } {
  return torch.noGrad(() =>
    torch.scope(() => {
      const means: Tensor[] = [];
      const stds: Tensor[] = [];
      for (let i = 0; i < images.shape[0]; i += batch) {
        const post = vae.encode(images.narrow(0, i, Math.min(batch, images.shape[0] - i)));
        means.push(post.mean.clone());
        stds.push(post.std.clone());
      }
      return { mean: torch.cat(means), std: torch.cat(stds) };
    }),
  );
}
