// Gradient check against central finite differences (torch.autograd.gradcheck's idea), used by
// the engine's tests: the analytic gradient of sum(f(x) * r) for a fixed random r is compared
// with (g(x + h e_i) - g(x - h e_i)) / 2h for every element i of every input.
import { randn } from './factories.ts';
import { noGrad } from './grad.ts';
import { scope } from './lifetime.ts';
import type { Tensor } from './tensor.ts';

export interface GradcheckResult {
  /** max |analytic - numeric| / max(1, |numeric|) over all elements checked. */
  maxRelError: number;
  checked: number;
}

export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: { eps?: number; seed?: number } = {},
): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  return scope(() => {
    const probe = noGrad(() => fn(...inputs));
    const r = randn(probe.shape, { dtype: probe.dtype });
    const objective = () =>
      noGrad(() =>
        scope(() =>
          fn(...inputs)
            .mul(r)
            .sum()
            .item(),
        ),
      );
    for (const x of inputs) {
      x.grad = undefined;
      x.requiresGrad = true;
    }
    const out = fn(...inputs)
      .mul(r)
      .sum();
    out.backward();
    let maxRel = 0;
    let checked = 0;
    for (const x of inputs) {
      const analytic = (x.grad as Tensor).toArray();
      const flatX = x.detach().view(-1); // shares storage: edits below perturb x itself
      for (let i = 0; i < analytic.length; i++) {
        const orig = flatX.index(i).item();
        noGrad(() => scope(() => flatX.index(i).fill_(orig + eps)));
        const plus = objective();
        noGrad(() => scope(() => flatX.index(i).fill_(orig - eps)));
        const minus = objective();
        noGrad(() => scope(() => flatX.index(i).fill_(orig)));
        const numeric = (plus - minus) / (2 * eps);
        maxRel = Math.max(maxRel, Math.abs(analytic[i] - numeric) / Math.max(1, Math.abs(numeric)));
        checked++;
      }
    }
    return { maxRelError: maxRel, checked };
  });
}
