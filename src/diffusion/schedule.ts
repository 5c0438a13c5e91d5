// The DDPM training schedule of Stable Diffusion (scaled_linear 0.00085 → 0.012 over 1000 steps),
// forward noising (add_noise), the v-prediction target (get_velocity) and per-timestep SNR.
// Computed in float32 with torch ops in diffusers' order, so values equal upstream's bit for bit.
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

export type PredictionType = 'epsilon' | 'v_prediction';

export interface ScheduleConfig {
  numTrainTimesteps?: number;
  betaStart?: number;
  betaEnd?: number;
  betaSchedule?: 'scaled_linear' | 'linear';
  predictionType?: PredictionType;
  /** sd-scripts --zero_terminal_snr: rescale betas so ᾱ[T-1] = 0 (all_snr stays the unfixed one). */
  zeroTerminalSnr?: boolean;
}

/** Betas of the schedule as float32 (scaled_linear: linspace of √β, squared). */
export function makeBetas(c: ScheduleConfig = {}): Tensor {
  const n = c.numTrainTimesteps ?? 1000;
  const start = c.betaStart ?? 0.00085;
  const end = c.betaEnd ?? 0.012;
  return torch.scope(() => {
    if ((c.betaSchedule ?? 'scaled_linear') === 'linear') return torch.linspace(start, end, n);
    return torch.linspace(start ** 0.5, end ** 0.5, n).pow(2);
  });
}

/**
 * sd-scripts fix_noise_scheduler_betas_for_zero_terminal_snr (Lin et al. 2023): shift and scale
 * √ᾱ so the last is 0 and the first unchanged, then recover betas. Done in float32 as upstream.
 */
export function zeroTerminalSnrBetas(betas: Tensor): Tensor {
  return torch.scope(() => {
    const alphas = torch.onesLike(betas).sub(betas);
    const sqrtBar = alphas.cumprod(0).sqrt();
    const first = sqrtBar.index(0).clone();
    const last = sqrtBar.index(-1).clone();
    let s = sqrtBar.sub(last);
    s = s.mul(first.div(first.sub(last)));
    const bar = s.pow(2);
    const ratio = bar.slice(0, 1).div(bar.slice(0, 0, -1)); // ᾱ[1:] / ᾱ[:-1]
    const a = torch.cat([bar.slice(0, 0, 1), ratio]);
    return torch.onesLike(a).sub(a);
  });
}

export class NoiseSchedule {
  readonly numTrainTimesteps: number;
  readonly predictionType: PredictionType;
  readonly betas: Tensor;
  readonly alphas: Tensor;
  readonly alphasCumprod: Tensor;
  /** ᾱ/(1−ᾱ) per timestep (sd-scripts all_snr, from the unfixed schedule). */
  readonly allSnr: Tensor;

  constructor(readonly config: ScheduleConfig = {}) {
    this.numTrainTimesteps = config.numTrainTimesteps ?? 1000;
    this.predictionType = config.predictionType ?? 'epsilon';
    const plain = makeBetas(config).keep();
    const snr = torch.scope(() => {
      const ac = torch.onesLike(plain).sub(plain).cumprod(0);
      return ac.sqrt().div(torch.onesLike(ac).sub(ac).sqrt()).pow(2);
    });
    this.allSnr = snr.keep();
    this.betas = config.zeroTerminalSnr ? zeroTerminalSnrBetas(plain).keep() : plain;
    if (config.zeroTerminalSnr) plain.dispose();
    this.alphas = torch.onesLike(this.betas).sub(this.betas).keep();
    this.alphasCumprod = this.alphas.cumprod(0).keep();
  }

  /** ᾱ at integer timesteps [B], shaped [B, 1, 1, ...] to broadcast over `like`. */
  private gather(timesteps: Tensor, like: Tensor): Tensor {
    const ac = this.alphasCumprod.to({ dtype: like.dtype, device: like.device });
    const a = ac.indexSelect(0, timesteps.reshape(-1).to({ dtype: 'int64', device: like.device }));
    return a.reshape([a.shape[0], ...Array(like.ndim - 1).fill(1)]);
  }

  /** x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε (diffusers add_noise). */
  addNoise(original: Tensor, noise: Tensor, timesteps: Tensor): Tensor {
    return torch.scope(() => {
      const a = this.gather(timesteps, original);
      return a.pow(0.5).mul(original).add(torch.onesLike(a).sub(a).pow(0.5).mul(noise));
    });
  }

  /** v = √ᾱ_t·ε − √(1−ᾱ_t)·x_0 (diffusers get_velocity). */
  getVelocity(sample: Tensor, noise: Tensor, timesteps: Tensor): Tensor {
    return torch.scope(() => {
      const a = this.gather(timesteps, sample);
      return a.pow(0.5).mul(noise).sub(torch.onesLike(a).sub(a).pow(0.5).mul(sample));
    });
  }

  /** The training target for the model's prediction type. */
  target(latents: Tensor, noise: Tensor, timesteps: Tensor): Tensor {
    return this.predictionType === 'v_prediction' ? this.getVelocity(latents, noise, timesteps) : noise.clone();
  }

  /** ᾱ at one integer timestep as a 0-d float32 tensor (1 when t < 0 unless `final` is given). */
  alphaAt(t: number, final?: Tensor): Tensor {
    if (t >= 0) return this.alphasCumprod.index(t).clone();
    return final ? final.clone() : torch.ones([]);
  }

  dispose(): void {
    for (const t of [this.betas, this.alphas, this.alphasCumprod, this.allSnr]) t.dispose();
  }
}
