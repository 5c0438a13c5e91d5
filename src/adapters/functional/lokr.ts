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

/** LokrWeights from a module's tensors by file suffix (lokr_w1, lokr_w2_a, ...); absent ones undefined. */
export function lokrWeights(get: (suffix: string) => Tensor | undefined): LokrWeights {
  return {
    w1: get('lokr_w1'),
    w1a: get('lokr_w1_a'),
    w1b: get('lokr_w1_b'),
    w2: get('lokr_w2'),
    w2a: get('lokr_w2_a'),
    w2b: get('lokr_w2_b'),
    t2: get('lokr_t2'),
  };
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

/**
 * kron(W1, W2) applied to x without building it: the input's channels split as (c, d), W2 acts
 * on d within each of the c groups (a batched linear or conv with the layer's stride/padding), then
 * W1 mixes the c groups into a. The same sum as F.linear/F.conv2d with kron(W1, W2), reordered;
 * for SD's 1280-channel 3x3 convs about 1/30 of the products and no 59 MB ΔW per call.
 */
export function lokrApply(
  x: Tensor,
  w1: Tensor,
  w2: Tensor,
  layer: { kind: 'linear' | 'conv2d'; stride: number; padding: number },
): Tensor {
  return torch.scope(() => {
    const [a, c] = w1.shape;
    const [b, d] = w2.shape;
    if (layer.kind === 'linear') {
      const lead = x.shape.slice(0, -1);
      const z = x.reshape(...lead, c, d).matmul(w2.t()); // [..., c, b]
      return w1.matmul(z).reshape(...lead, a * b); // [..., a, b]
    }
    const [n, , h, w] = x.shape;
    const y = torch.F.conv2d(x.reshape(n * c, d, h, w), w2, undefined, { stride: layer.stride, padding: layer.padding });
    const [, , ho, wo] = y.shape;
    return w1.matmul(y.reshape(n, c, b * ho * wo)).reshape(n, a * b, ho, wo);
  });
}
