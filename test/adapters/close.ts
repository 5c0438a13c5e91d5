// Element-wise tolerance check |a − b| ≤ atol + rtol·|b| with the worst offender in the message.
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';

export const OUT_TOL = { atol: 2e-5, rtol: 1e-5 };
export const WEIGHT_TOL = { atol: 2e-6, rtol: 1e-5 };

/** Largest |a − b| − (atol + rtol·|b|) (≤ 0 means within tolerance) and the largest |a − b|. */
export function excess(a: Tensor, b: Tensor, tol: { atol: number; rtol: number }): { excess: number; maxAbs: number } {
  return torch.noGrad(() =>
    torch.scope(() => {
      const af = a.double();
      const bf = b.double();
      const d = af.sub(bf).abs();
      const e = d.sub(bf.abs().mul(tol.rtol).add(tol.atol));
      return { excess: e.max().item(), maxAbs: d.max().item() };
    }),
  );
}

export function assertClose(actual: Tensor, expected: Tensor, tol: { atol: number; rtol: number }, label: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  const r = excess(actual, expected, tol);
  assert.ok(r.excess <= 0, `${label}: max |diff| ${r.maxAbs.toExponential(3)} exceeds atol ${tol.atol} + rtol ${tol.rtol}`);
}
