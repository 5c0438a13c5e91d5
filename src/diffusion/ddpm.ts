// DDPM ancestral step (diffusers DDPMScheduler defaults: fixed_small variance, clip_sample on,
// leading spacing without offset). Mostly a reference point for the other samplers.
import type { Generator, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { StepResult } from './ddim.ts';
import type { NoiseSchedule } from './schedule.ts';
import { spacedTimesteps } from './timesteps.ts';

export class DDPMScheduler {
  timesteps: number[] = [];
  readonly initNoiseSigma = 1;
  private numInferenceSteps = 0;
  constructor(
    readonly schedule: NoiseSchedule,
    readonly options: { clipSample?: boolean; clipSampleRange?: number } = {},
  ) {}

  setTimesteps(n: number): void {
    this.numInferenceSteps = n;
    this.timesteps = spacedTimesteps('leading', n, this.schedule.numTrainTimesteps, 0, true);
  }

  scaleModelInput(sample: Tensor, _t: number): Tensor {
    return sample;
  }

  step(modelOutput: Tensor, t: number, sample: Tensor, o: { noise?: Tensor; generator?: Generator } = {}): StepResult {
    return torch.scope(() => {
      const s = this.schedule;
      const prev = t - Math.floor(s.numTrainTimesteps / this.numInferenceSteps);
      const one = torch.ones([]);
      const aT = s.alphaAt(t);
      const aPrev = s.alphaAt(prev);
      const bT = one.sub(aT);
      const bPrev = one.sub(aPrev);
      const curAlpha = aT.div(aPrev);
      const curBeta = one.sub(curAlpha);
      let predOriginal =
        s.predictionType === 'v_prediction'
          ? aT.pow(0.5).mul(sample).sub(bT.pow(0.5).mul(modelOutput))
          : sample.sub(bT.pow(0.5).mul(modelOutput)).div(aT.pow(0.5));
      if (this.options.clipSample ?? true) {
        const r = this.options.clipSampleRange ?? 1;
        predOriginal = predOriginal.clamp(-r, r);
      }
      const origCoeff = aPrev.pow(0.5).mul(curBeta).div(bT);
      const curCoeff = curAlpha.pow(0.5).mul(bPrev).div(bT);
      let prevSample = origCoeff.mul(predOriginal).add(curCoeff.mul(sample));
      if (t > 0) {
        const noise = o.noise ?? torch.randn(modelOutput.shape, { generator: o.generator, dtype: modelOutput.dtype });
        const variance = one.sub(aPrev).div(one.sub(aT)).mul(curBeta).clamp(1e-20);
        prevSample = prevSample.add(variance.pow(0.5).mul(noise));
      }
      return { prevSample, predOriginalSample: predOriginal };
    });
  }
}
