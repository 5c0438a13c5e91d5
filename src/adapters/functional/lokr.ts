// LoKr maths (LyCORIS LokrModule): ΔW = scale · kron(W1, W2) with W1 = w1 | w1a·w1b and
// W2 = w2 | w2a·w2b | tucker(t2, w2a, w2b); W1 is broadcast over the kernel dims of a conv W2.
// `lokrLayout` decides which factors exist, as LyCORIS does, from (out, in, k, dim, factor, ...).
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { factorization } from '../factorization.ts';
import { rebuildTucker } from './tucker.ts';

export interface LokrWeights {
  w1?: Tensor;
  w1a?: Tensor;
  w1b?: Tensor;
  w2?: Tensor;
  w2a?: Tensor;
  w2b?: Tensor;
  t2?: Tensor;
}

export interface LokrLayoutOptions {
  factor?: number;
  decomposeBoth?: boolean;
  /** Conv k×k: W2 as t2 + w2a + w2b (LyCORIS use_tucker). */
  tucker?: boolean;
  /** LyCORIS ≥ 3 full_matrix: always full W2 (and W1). */
  fullMatrix?: boolean;
  /** LyCORIS ≥ 3 unbalanced_factorization: swap the output pair. */
  unbalanced?: boolean;
  /** LyCORIS ≤ 1.8 factorization. */
  legacyFactorization?: boolean;
}

export interface LokrLayout {
  /** Output split (a, b) and input split (c, d): out = a·b, in = c·d. */
  out: [number, number];
  in: [number, number];
  /** Parameter shapes by file suffix (lokr_w1, lokr_w2_a, ...). */
  shapes: Record<string, number[]>;
  useW1: boolean;
  useW2: boolean;
  tucker: boolean;
}

/** Which LoKr factors a layer of weight shape [out, in(, k, k)] gets at rank `dim`. */
export function lokrLayout(shape: number[], dim: number, o: LokrLayoutOptions = {}): LokrLayout {
  const [outDim, inDim, ...kernel] = shape;
  const legacy = { legacy: o.legacyFactorization };
  const [c, d] = factorization(inDim, o.factor ?? -1, legacy);
  let [a, b] = factorization(outDim, o.factor ?? -1, legacy);
  if (o.unbalanced) [a, b] = [b, a];
  const isConv = kernel.length > 0;
  const tucker = !!o.tucker && isConv && kernel.some((k) => k !== 1);
  const shapes: Record<string, number[]> = {};
  const useW1 = !(o.decomposeBoth && dim < Math.max(a, c) / 2 && !o.fullMatrix);
  if (useW1) shapes.lokr_w1 = [a, c];
  else {
    shapes.lokr_w1_a = [a, dim];
    shapes.lokr_w1_b = [dim, c];
  }
  // "Too large rank": a low-rank W2 would not be smaller than the full block.
  const useW2 = dim >= Math.max(b, d) / 2 || !!o.fullMatrix;
  if (useW2) shapes.lokr_w2 = [b, d, ...kernel];
  else if (tucker) {
    shapes.lokr_t2 = [dim, dim, ...kernel];
    shapes.lokr_w2_a = [dim, b];
    shapes.lokr_w2_b = [dim, d];
  } else {
    shapes.lokr_w2_a = [b, dim];
    shapes.lokr_w2_b = [dim, d * kernel.reduce((p, k) => p * k, 1)];
  }
  return { out: [a, b], in: [c, d], shapes, useW1, useW2, tucker };
}

/** The Kronecker factors W1 (a, c) and W2 (b, d[, k, k]) from whichever tensors are present. */
export function lokrFactors(w: LokrWeights, shape: number[]): [Tensor, Tensor] {
  const w1 = w.w1 ?? w.w1a!.mm(w.w1b!);
  let w2: Tensor;
  if (w.w2) w2 = w.w2;
  else if (w.t2) w2 = rebuildTucker(w.t2, w.w2a!, w.w2b!);
  else {
    const m = w.w2a!.mm(w.w2b!);
    const kernel = shape.slice(2);
    w2 = kernel.length ? m.reshape(m.shape[0], -1, ...kernel) : m;
  }
  return [w1, w2];
}

/** ΔW = scale · kron(W1, W2) in `shape`. */
export function lokrDiff(w: LokrWeights, shape: number[], scale: number): Tensor {
  return torch.scope(() => {
    let [w1, w2] = lokrFactors(w, shape);
    for (let i = w1.ndim; i < w2.ndim; i++) w1 = w1.unsqueeze(-1);
    return torch.kron(w1, w2.contiguous()).reshape(shape).mul(scale);
  });
}

/** LoKr's scale: 1 when W1 and W2 are both full (LyCORIS overwrites alpha with dim), else alpha/dim. */
export function lokrIsFullFull(w: LokrWeights): boolean {
  return !!w.w1 && !!w.w2;
}
