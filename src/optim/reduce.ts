// Host reads of many 0-dim reductions at once. Upstream calls .item() once per tensor; stacking
// the 0-dim results and copying once gives the very same float values (each is the tensor-dtype
// reduction, widened exactly to float64) with one device sync instead of hundreds.
import { ops, type Tensor } from '../torch/index.ts';

/** The values of 0-dim tensors, in order, as float64 numbers. */
export function readScalars(values: Tensor[]): number[] {
  if (values.length === 0) return [];
  return ops.stack(values, 0).toArray();
}

/** Per-tensor sums (one dispatch each: libtorch 1.13 has no foreach sum). */
export function sumEach(tensors: Tensor[]): Tensor[] {
  return tensors.map((t) => ops.sum(t));
}

/** Adds values in order in float64, as `x += v.item()` does in Python. */
export function accumulate(values: number[], scale = 1): number {
  let acc = 0.0;
  for (const v of values) acc += scale * v;
  return acc;
}
