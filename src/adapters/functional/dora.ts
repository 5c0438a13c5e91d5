// DoRA (LyCORIS weight_decompose): W' = (W + ΔW) · s, s = dora_scale / ‖W + ΔW‖ along the output
// axis (wd_on_out, LyCORIS ≥ 3.2 default) or the input axis; for m ≠ 1 upstream uses
// s ← m·(s − 1) + 1 on W + ΔW (so at m = 0 it still returns W + ΔW — an upstream quirk kept here
// because the golden forward/merge pin it).
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';

const EPS_F32 = 1.1920928955078125e-7;

export function weightNorm(w: Tensor, onOutput: boolean): Tensor {
  return torch.scope(() => {
    const rest = w.shape.slice(1).map(() => 1);
    if (onOutput)
      return w
        .reshape(w.shape[0], -1)
        .norm(2, 1)
        .reshape(w.shape[0], ...rest);
    const wt = w.transpose(0, 1);
    return wt
      .reshape(w.shape[1], -1)
      .norm(2, 1)
      .reshape(w.shape[1], ...rest)
      .transpose(0, 1);
  });
}

export function applyDora(weight: Tensor, doraScale: Tensor, onOutput: boolean, multiplier: number): Tensor {
  return torch.scope(() => {
    let s = doraScale.div(weightNorm(weight, onOutput).add(EPS_F32));
    if (multiplier !== 1) s = s.sub(1).mul(multiplier).add(1);
    return weight.mul(s);
  });
}
