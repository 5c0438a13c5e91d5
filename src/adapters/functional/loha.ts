// LoHa maths (LyCORIS LohaModule): ΔW = (w1a·w1b) ⊙ (w2a·w2b) · scale reshaped to W, or with
// Tucker ΔW = R1 ⊙ R2 · scale, R_k = rebuildTucker(t_k, wk_a, wk_b). Autograd of this expression
// equals upstream's hand-written backward.
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { rebuildTucker } from './tucker.ts';

export interface LohaWeights {
  w1a: Tensor;
  w1b: Tensor;
  w2a: Tensor;
  w2b: Tensor;
  t1?: Tensor;
  t2?: Tensor;
}

export function lohaDiff(w: LohaWeights, shape: number[], scale: number): Tensor {
  return torch.scope(() => {
    if (w.t1 && w.t2) {
      const r1 = rebuildTucker(w.t1, w.w1a, w.w1b);
      const r2 = rebuildTucker(w.t2, w.w2a, w.w2b);
      return r1.mul(r2).mul(scale).reshape(shape);
    }
    return w.w1a.mm(w.w1b).mul(w.w2a.mm(w.w2b)).mul(scale).reshape(shape);
  });
}
