// DDIM sampler (diffusers DDIMScheduler, SD config: clip_sample off, set_alpha_to_one off,
// steps_offset 1). Scalar coefficients are 0-d float32 tensors combined in upstream's order.
import type { Generator, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { NoiseSchedule } from './schedule.ts';
import { spacedTimesteps, type TimestepSpacing } from './timesteps.ts';

export interface DDIMOptions {
  spacing?: TimestepSpacing;
  stepsOffset?: number;
  /** SD's configs: false, so the last step's "previous" ᾱ is ᾱ[0]. */
  setAlphaToOne?: boolean;
}

export interface StepResult {
  prevSample: Tensor;
  predOriginalSample: Tensor;
}

export class DDIMScheduler {
  timesteps: number[] = [];
  readonly initNoiseSigma = 1;
  private numInferenceSteps = 0;
  constructor(
    readonly schedule: NoiseSchedule,
    readonly options: DDIMOptions = {},
  ) {}

  setTimesteps(n: number): void {
    this.numInferenceSteps = n;
    this.timesteps = spacedTimesteps(
      this.options.spacing ?? 'leading',
      n,
      this.schedule.numTrainTimesteps,
      this.options.stepsOffset ?? 1,
      true,
    );
  }

  prevTimestep(t: number): number {
    return t - Math.floor(this.schedule.numTrainTimesteps / this.numInferenceSteps);
  }

  /** DDIM needs no input scaling; kept so samplers share one interface. */
  scaleModelInput(sample: Tensor, _t: number): Tensor {
    return sample;
  }

  /** One step from t to the previous grid point; eta > 0 adds `noise` (or a draw) scaled by σ_t. */
  step(modelOutput: Tensor, t: number, sample: Tensor, o: { eta?: number; noise?: Tensor; generator?: Generator } = {}): StepResult {
    const eta = o.eta ?? 0;
    return torch.scope(() => {
      const s = this.schedule;
      const aT = s.alphaAt(t);
      const prev = this.prevTimestep(t);
      const aPrev = prev >= 0 ? s.alphaAt(prev) : this.options.setAlphaToOne ? torch.ones([]) : s.alphaAt(0);
      const one = torch.ones([]);
      const bT = one.sub(aT);
      let predOriginal: Tensor;
      let predEps: Tensor;
      if (s.predictionType === 'v_prediction') {
        predOriginal = aT.pow(0.5).mul(sample).sub(bT.pow(0.5).mul(modelOutput));
        predEps = aT.pow(0.5).mul(modelOutput).add(bT.pow(0.5).mul(sample));
      } else {
        predOriginal = sample.sub(bT.pow(0.5).mul(modelOutput)).div(aT.pow(0.5));
        predEps = modelOutput;
      }
      const bPrev = one.sub(aPrev);
      const variance = bPrev.div(bT).mul(one.sub(aT.div(aPrev)));
      const std = variance.pow(0.5).mul(eta);
      const direction = one.sub(aPrev).sub(std.pow(2)).pow(0.5).mul(predEps);
      let prevSample = aPrev.pow(0.5).mul(predOriginal).add(direction);
      if (eta > 0) {
        const noise = o.noise ?? torch.randn(modelOutput.shape, { generator: o.generator, dtype: modelOutput.dtype });
        prevSample = prevSample.add(std.mul(noise));
      }
      return { prevSample, predOriginalSample: predOriginal };
    });
  }
}
