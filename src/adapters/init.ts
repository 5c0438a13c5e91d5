// Initialisation primitives with torch's exact distributions (spec §1.3); bit-exact streams with
// Python are not a goal (its constructors draw and discard their own inits first).
import type { Generator, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

export interface InitOptions {
  generator?: Generator;
  device?: string;
}

/** torch.nn.init.kaiming_uniform_(a): U(-b, b), b = sqrt(6 / ((1 + a²)·fan_in)), fan_in = shape[1]·prod(shape[2:]). */
export function kaimingUniform(shape: number[], a: number, o: InitOptions = {}): Tensor {
  const fanIn = shape.slice(1).reduce((p, x) => p * x, 1);
  const bound = Math.sqrt(6 / ((1 + a * a) * fanIn));
  return torch.noGrad(() => torch.empty(shape, { device: o.device }).uniform_(-bound, bound, o.generator));
}

/** kaiming_uniform(a = √5): bound 1/√fan_in, what LoRA/LyCORIS use for "down" factors. */
export const kaimingSqrt5 = (shape: number[], o: InitOptions = {}) => kaimingUniform(shape, Math.sqrt(5), o);

export function normalInit(shape: number[], std: number, o: InitOptions = {}): Tensor {
  return torch.noGrad(() => torch.empty(shape, { device: o.device }).normal_(0, std, o.generator));
}

export function zerosInit(shape: number[], o: InitOptions = {}): Tensor {
  return torch.zeros(shape, { device: o.device });
}
