// Tolerance checks in the golden README's form: max|a − b| ≤ rel·max|b| + abs.
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';

export interface Diff {
  maxAbs: number;
  refMax: number;
  /** maxAbs / refMax. */
  rel: number;
}

export function diff(actual: Tensor, expected: Tensor): Diff {
  return torch.scope(() => {
    assert.deepEqual(actual.shape, expected.shape, 'shape');
    const a = actual.to('float64');
    const b = expected.to('float64');
    const maxAbs = a.sub(b).abs().max().item();
    const refMax = b.abs().max().item();
    return { maxAbs, refMax, rel: refMax > 0 ? maxAbs / refMax : maxAbs };
  });
}

/** Asserts the README tolerance and returns the measured difference. */
export function assertClose(actual: Tensor, expected: Tensor, name: string, rel: number, abs = 0): Diff {
  const d = diff(actual, expected);
  const bound = rel * d.refMax + abs;
  assert.ok(
    d.maxAbs <= bound,
    `${name}: max|a-b| ${d.maxAbs.toExponential(3)} > ${bound.toExponential(3)} (ref max ${d.refMax.toPrecision(4)})`,
  );
  return d;
}
