// torch.nn.utils.clip_grad_norm_ as sd-scripts calls it on the network's parameters after each
// accumulation (max_grad_norm, default 1.0): the total L2 norm over every gradient, and all
// gradients scaled by min(1, max_norm / (total + 1e-6)).
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

/** Returns the total norm before clipping (NaN/inf when a gradient is not finite). */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  return torch.noGrad(() =>
    torch.scope(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== undefined);
      if (grads.length === 0) return 0;
      const total = torch.stack(grads.map((g) => g.norm())).norm();
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1.0);
      for (const g of grads) g.mul_(coef);
      return total.item();
    }),
  );
}
