// Frozen base weights stored in half precision (fp16/bf16, the dtype checkpoints ship in) and
// computed in float32: lyco::frozen_linear / lyco::frozen_conv2d (native/src/frozen.cc) cast the
// weight per call and recast it in backward, so no float32 copy outlives its layer. For an fp16
// checkpoint the results equal float32 weights exactly (fp16 → fp32 is exact) at half the memory.
import type { DType, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { Module } from './module.ts';

const HALF = new Set<DType>(['float16', 'bfloat16']);

/** A frozen half weight meeting a wider input outside autocast (which casts by itself): the case the frozen ops are for. */
export function computesWider(w: Tensor, x: Tensor): boolean {
  return HALF.has(w.dtype) && !w.requiresGrad && x.dtype !== w.dtype && !HALF.has(x.dtype) && !torch.isAutocastEnabled();
}

/** Float32 bytes of a CPU weight widened at a time (0: the addon's default); tests set it small to slice tiny layers. */
export const frozenSettings = { sliceBytes: 0 };

export function frozenLinear(x: Tensor, w: Tensor, b: Tensor | undefined): Tensor {
  return torch.callOp('lyco::frozen_linear', '', x, w, b ?? null, frozenSettings.sliceBytes) as Tensor;
}

export function frozenConv2d(x: Tensor, w: Tensor, b: Tensor | undefined, stride: number, padding: number, groups: number): Tensor {
  const s = frozenSettings.sliceBytes;
  return torch.callOp('lyco::frozen_conv2d', '', x, w, b ?? null, [stride, stride], [padding, padding], [1, 1], groups, s) as Tensor;
}

/** Layers whose weights can be stored half and computed wider (norms stay float32: tiny, and precision-sensitive). */
export interface HalfStorable {
  storeHalf(dtype: DType): void;
}

const storable = (m: Module): m is Module & HalfStorable => typeof (m as Partial<HalfStorable>).storeHalf === 'function';

/**
 * Stores the frozen Linear, Conv2d and Embedding weights of `root` in `dtype` (float16 or
 * bfloat16); they keep computing in float32. Every other half-precision tensor (norms, loaded
 * from an fp16 checkpoint with the rest) becomes float32. Returns the parameters stored half.
 */
export function storeFrozenWeights(root: Module, dtype: DType): number {
  if (!HALF.has(dtype)) throw new Error(`storeFrozenWeights: ${dtype} is not a half-precision dtype (float16, bfloat16)`);
  let n = 0;
  for (const [name, m] of root.namedModules()) {
    const own = [...m.ownTensors()];
    if (!storable(m)) {
      if (own.some(([, t]) => HALF.has(t.dtype))) m.to({ dtype: 'float32', recurse: false });
      continue;
    }
    for (const [pn, p] of own) {
      if (p.requiresGrad)
        throw new Error(`storeFrozenWeights: ${name ? `${name}.` : ''}${pn} is trainable; only frozen weights can be stored in ${dtype}`);
      n += p.numel();
    }
    m.storeHalf(dtype);
  }
  return n;
}
