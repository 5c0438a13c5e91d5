// The preview sampling loop with classifier-free guidance. The model is a plain function, so
// this layer does not depend on the text encoders (the trainer binds UNet + conditioning).
import type { Generator, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { StepResult } from './ddim.ts';

/** Predicts the model output (ε or v) for latents at timestep t under conditioning `cond`. */
export type ModelFn<C> = (latents: Tensor, t: number, cond: C) => Tensor;

export interface Sampler {
  timesteps: number[];
  initNoiseSigma: number;
  setTimesteps(n: number): void;
  scaleModelInput(sample: Tensor, t: number): Tensor;
  step(modelOutput: Tensor, t: number, sample: Tensor, o: { eta?: number; noise?: Tensor; generator?: Generator }): StepResult;
}

export interface SampleOptions<C> {
  sampler: Sampler;
  steps: number;
  /** Initial noise N(0, 1) (scaled by the sampler's init sigma here). */
  noise: Tensor;
  cond: C;
  /** Unconditional (negative prompt) conditioning; guidance needs it when scale > 1. */
  uncond?: C;
  guidanceScale?: number;
  eta?: number;
  generator?: Generator;
  /** Noise for step i's stochastic part (reproduces recorded draws); default: drawn from generator. */
  stepNoise?: (i: number) => Tensor;
  /** Called after every step with the step index and the new latents. */
  onStep?: (i: number, latents: Tensor) => void;
}

/**
 * Runs the sampler from noise to x_0. With guidance: ε = ε_u + s·(ε_c − ε_u), the model run
 * twice per step (separately, so a batch of 1 stays within memory). Returns latents (unscaled by
 * the VAE factor: divide by it before decoding).
 */
export function sample<C>(model: ModelFn<C>, o: SampleOptions<C>): Tensor {
  const s = o.sampler;
  const scale = o.guidanceScale ?? 1;
  if (scale !== 1 && o.uncond === undefined) throw new Error('sample: guidanceScale != 1 needs uncond conditioning');
  s.setTimesteps(o.steps);
  return torch.noGrad(() => {
    let x = torch.scope(() => o.noise.mul(s.initNoiseSigma));
    s.timesteps.forEach((t, i) => {
      const next = torch.scope(() => {
        const xin = s.scaleModelInput(x, t);
        let out = model(xin, t, o.cond);
        if (scale !== 1) {
          const un = model(xin, t, o.uncond as C);
          out = un.add(out.sub(un).mul(scale));
        }
        return s.step(out, t, x, { eta: o.eta, generator: o.generator, noise: o.stepNoise?.(i) }).prevSample;
      });
      x.dispose();
      x = next;
      o.onStep?.(i, x);
    });
    return x;
  });
}
