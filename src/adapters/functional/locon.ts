// LoRA / LoCon maths (kohya networks.lora and LyCORIS LoConModule): ΔW = fold(up)·fold(down)·scale,
// or with Tucker ΔW[o,c,p,q] = scale · Σ up[o,n]·mid[n,m,p,q]·down[m,c]; the low-rank forward
// applies down (with the layer's stride/padding), then mid, then up.
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { applyWeight, fold, type LayerInfo } from '../layer.ts';
import { rebuildTucker } from './tucker.ts';

export interface LoconWeights {
  up: Tensor;
  down: Tensor;
  mid?: Tensor;
}

/** ΔW in `shape`, times `scale`. Accepts up as (out, r) or (out, r, 1, 1), down 2-D or 4-D. */
export function loconDiff(w: LoconWeights, shape: number[], scale: number): Tensor {
  return torch.scope(() => {
    const up = fold(w.up);
    let d: Tensor;
    if (w.mid) d = rebuildTucker(w.mid, up.t(), fold(w.down));
    else d = up.mm(fold(w.down));
    return d.reshape(shape).mul(scale);
  });
}

/**
 * The low-rank path up(mid(down(x))) without scale, applied as the layer would (down carries the
 * layer's stride/padding; mid, when present, carries them instead and down is 1×1).
 * `onRank` sees the rank-channel activations (rank dropout, network dropout on down(x)).
 */
export function loconLowRank(x: Tensor, w: LoconWeights, layer: LayerInfo, onRank?: (h: Tensor) => Tensor): Tensor {
  return torch.scope(() => {
    const r = w.down.shape[0];
    if (layer.kind === 'linear') {
      let h = torch.F.linear(x, fold(w.down));
      if (onRank) h = onRank(h);
      return torch.F.linear(h, fold(w.up));
    }
    const up4 = w.up.reshape(w.up.shape[0], r, 1, 1);
    let h: Tensor;
    if (w.mid) {
      const down4 = w.down.reshape(r, -1, 1, 1);
      h = applyWeight(torch.F.conv2d(x, down4), w.mid, layer);
    } else {
      h = applyWeight(x, w.down.reshape(r, layer.shape[1], layer.kernel, layer.kernel), layer);
    }
    if (onRank) h = onRank(h);
    return torch.F.conv2d(h, up4);
  });
}
