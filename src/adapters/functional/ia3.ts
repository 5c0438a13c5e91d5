// (IA)³ maths: one learned vector scales W's output rows (or input columns, on_input).
// Merged W' = W ⊙ (1 + m·w) along that axis; ΔW = W ⊙ (m·w).
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import type { LayerInfo } from '../layer.ts';

/** `w` broadcast against W: (out,) → (out, 1[,1,1]) on output; (in,) → (1, in[,1,1]) on input. Conv vectors are stored (1, C, 1, 1). */
function axisView(v: Tensor, shape: number[], onInput: boolean): Tensor {
  const flat = v.reshape(-1);
  const rest = shape.slice(2).map(() => 1);
  return onInput ? flat.reshape(1, -1, ...rest) : flat.reshape(-1, 1, ...rest);
}

/** ΔW = W ⊙ (m·w) along the chosen axis. */
export function ia3Diff(weight: Tensor, w: Tensor, onInput: boolean, multiplier: number): Tensor {
  return torch.scope(() => weight.mul(axisView(w, weight.shape, onInput).mul(multiplier)));
}

/**
 * The forward with the bias handled either way: `scaleBias: false` is the weight-only form every
 * loader and merge uses (LyCORIS ≥ 3 rebuild path); `true` is LyCORIS ≤ 2.2's training forward on
 * output, (W x + b)·(1 + m·w), which also scales the bias.
 */
export function ia3Forward(
  x: Tensor,
  orgForward: (x: Tensor) => Tensor,
  bias: Tensor | undefined,
  w: Tensor,
  layer: LayerInfo,
  o: { onInput: boolean; multiplier: number; scaleBias: boolean },
): Tensor {
  return torch.scope(() => {
    const gain = w.mul(o.multiplier).add(1);
    const chanDim = layer.kind === 'conv2d' ? 1 : -1;
    const view = (g: Tensor, n: number) => (chanDim === 1 ? g.reshape(1, n, 1, 1) : g.reshape(n));
    if (o.onInput) return orgForward(x.mul(view(gain, layer.inFeatures)));
    const out = orgForward(x);
    if (o.scaleBias) return out.mul(view(gain, layer.outFeatures).to(out.dtype));
    // W x + b + (W ⊙ m·w) x, the weight-only form, computed as out + (out − b)·m·w: scaling W's
    // rows scales the rows of W x, so the second product (and ΔW) need not be built.
    const wx = bias ? out.sub(view(bias, layer.outFeatures).to(out.dtype)) : out;
    return out.add(wx.mul(view(w.mul(o.multiplier), layer.outFeatures).to(out.dtype)));
  });
}
