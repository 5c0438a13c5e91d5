// AdamW as torch.optim.AdamW (torch 1.13 single-tensor semantics, amsgrad included).
import { ops, type Tensor } from '../torch/index.ts';
import { checkRange, Optimizer, type ParamGroupInput, type ParamState } from './optimizer.ts';

export type AdamWOptions = {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  foreach: boolean;
};

const DEFAULTS: AdamWOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, foreach: true };

export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: Tensor[] | ParamGroupInput<AdamWOptions>[], options: Partial<AdamWOptions> = {}) {
    const o = { ...DEFAULTS, ...options };
    checkRange('AdamW lr', o.lr, o.lr >= 0, '>= 0');
    checkRange('AdamW eps', o.eps, o.eps >= 0, '>= 0');
    checkRange('AdamW betas[0]', o.betas[0], o.betas[0] >= 0 && o.betas[0] < 1, 'in [0, 1)');
    checkRange('AdamW betas[1]', o.betas[1], o.betas[1] >= 0 && o.betas[1] < 1, 'in [0, 1)');
    super(params, o);
  }

  protected update(): void {
    for (const g of this.paramGroups) {
      const { params, grads } = this.withGrads(g);
      if (params.length === 0) continue;
      const [beta1, beta2] = g.betas;
      const states = params.map((p) => this.initState(p, g.amsgrad));
      for (const s of states) s.step = (s.step as number) + 1;
      // every param of a group shares the step count unless params were added later
      const steps = states.map((s) => s.step as number);
      const expAvg = states.map((s) => s.expAvg as Tensor);
      const expAvgSq = states.map((s) => s.expAvgSq as Tensor);
      const stepSize = steps.map((t) => g.lr / (1 - beta1 ** t));
      const bc2Sqrt = steps.map((t) => Math.sqrt(1 - beta2 ** t));
      if (g.foreach) {
        ops._foreach_mul__Scalar(params, 1 - g.lr * g.weightDecay);
        ops._foreach_mul__Scalar(expAvg, beta1);
        ops._foreach_add__List(expAvg, grads, 1 - beta1);
        ops._foreach_mul__Scalar(expAvgSq, beta2);
        ops._foreach_addcmul__Scalar(expAvgSq, grads, grads, 1 - beta2);
        let v = expAvgSq;
        if (g.amsgrad) {
          v = states.map((s) => s.maxExpAvgSq as Tensor);
          ops._foreach_maximum__List(v, expAvgSq);
        }
        const denom = ops._foreach_sqrt(v);
        ops._foreach_div__ScalarList(denom, bc2Sqrt);
        ops._foreach_add__Scalar(denom, g.eps);
        ops._foreach_addcdiv__ScalarList(
          params,
          expAvg,
          denom,
          stepSize.map((x) => -x),
        );
      } else {
        params.forEach((p, i) => {
          p.mul_(1 - g.lr * g.weightDecay);
          expAvg[i].mul_(beta1).add_(grads[i], 1 - beta1);
          expAvgSq[i].mul_(beta2).addcmul_(grads[i], grads[i], 1 - beta2);
          let v = expAvgSq[i];
          if (g.amsgrad) {
            v = states[i].maxExpAvgSq as Tensor;
            v.copy_(ops.maximum(v, expAvgSq[i]));
          }
          const denom = v.sqrt().div_(bc2Sqrt[i]).add_(g.eps);
          p.addcdiv_(expAvg[i], denom, -stepSize[i]);
        });
      }
    }
  }

  private initState(p: Tensor, amsgrad: boolean): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = { step: 0, expAvg: ops.zeros_like(p).keep(), expAvgSq: ops.zeros_like(p).keep() };
      if (amsgrad) s.maxExpAvgSq = ops.zeros_like(p).keep();
      this.state.set(p, s);
    }
    return s;
  }
}
