// Euler ancestral sampler (diffusers EulerAncestralDiscreteScheduler, "Euler a" of A1111):
// sigmas interpolated from the float32 schedule as numpy.interp does, float32 step math.
import type { Generator, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { StepResult } from './ddim.ts';
import type { NoiseSchedule } from './schedule.ts';
import { spacedTimesteps, type TimestepSpacing } from './timesteps.ts';

export class EulerAncestralScheduler {
  /** Float timesteps (linspace spacing keeps fractions), stored as float32 values. */
  timesteps: number[] = [];
  /** n + 1 sigmas, the last 0, as float32 values. */
  sigmas: number[] = [];
  initNoiseSigma = 1;
  private stepIndex: number | null = null;

  constructor(
    readonly schedule: NoiseSchedule,
    readonly options: { spacing?: TimestepSpacing; stepsOffset?: number } = {},
  ) {}

  setTimesteps(n: number): void {
    const spacing = this.options.spacing ?? 'linspace';
    // diffusers builds the grid in float32 and interpolates sigmas at those float32 points.
    const ts = spacedTimesteps(spacing, n, this.schedule.numTrainTimesteps, this.options.stepsOffset ?? 0, false).map(Math.fround);
    const table = torch.scope(() => {
      const ac = this.schedule.alphasCumprod;
      return torch.onesLike(ac).sub(ac).div(ac).pow(0.5).toArray();
    });
    // numpy.interp on the float32 table, in float64, then rounded to float32.
    const interp = (x: number): number => {
      const j = Math.min(Math.floor(x), table.length - 2);
      if (x <= 0) return table[0];
      if (x >= table.length - 1) return table[table.length - 1];
      const slope = (table[j + 1] - table[j]) / 1;
      return slope * (x - j) + table[j];
    };
    this.sigmas = [...ts.map((t) => Math.fround(interp(t))), 0];
    this.timesteps = ts;
    const max = Math.max(...this.sigmas);
    this.initNoiseSigma =
      spacing === 'linspace' || spacing === 'trailing' ? max : Math.fround(Math.sqrt(Math.fround(Math.fround(max * max) + 1)));
    this.stepIndex = null;
  }

  private indexOf(t: number): number {
    if (this.stepIndex !== null) return this.stepIndex;
    const i = this.timesteps.indexOf(Math.fround(t));
    if (i < 0) throw new Error(`Euler ancestral: timestep ${t} is not in the schedule`);
    this.stepIndex = i;
    return i;
  }

  /** Positions the sampler at step `i` (the default starts at the first timestep's index). */
  setStepIndex(i: number | null): void {
    this.stepIndex = i;
  }

  /** x / √(σ² + 1): the model sees inputs of unit variance. */
  scaleModelInput(sample: Tensor, t: number): Tensor {
    const sigma = this.sigmas[this.indexOf(t)];
    return torch.scope(() => {
      const s = torch.tensor(sigma);
      return sample.div(s.pow(2).add(1).pow(0.5));
    });
  }

  step(modelOutput: Tensor, t: number, sample: Tensor, o: { noise?: Tensor; generator?: Generator } = {}): StepResult {
    const i = this.indexOf(t);
    const result = torch.scope(() => {
      const x = sample.to('float32');
      const sigma = torch.tensor(this.sigmas[i]);
      let predOriginal: Tensor;
      if (this.schedule.predictionType === 'v_prediction') {
        predOriginal = modelOutput.mul(sigma.neg().div(sigma.pow(2).add(1).pow(0.5))).add(x.div(sigma.pow(2).add(1)));
      } else {
        predOriginal = x.sub(sigma.mul(modelOutput));
      }
      const from = sigma;
      const to = torch.tensor(this.sigmas[i + 1]);
      const up = to
        .pow(2)
        .mul(from.pow(2).sub(to.pow(2)))
        .div(from.pow(2))
        .pow(0.5);
      const down = to.pow(2).sub(up.pow(2)).pow(0.5);
      const derivative = x.sub(predOriginal).div(sigma);
      const dt = down.sub(sigma);
      let prev = x.add(derivative.mul(dt));
      const noise = o.noise ?? torch.randn(modelOutput.shape, { generator: o.generator, dtype: modelOutput.dtype });
      prev = prev.add(noise.mul(up));
      return { prevSample: prev.to(modelOutput.dtype), predOriginalSample: predOriginal };
    });
    this.stepIndex = i + 1;
    return result;
  }
}
