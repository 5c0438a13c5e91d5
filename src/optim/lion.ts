// Lion (lucidrains/lion-pytorch, sd-scripts' "Lion"): sign of an interpolated momentum.
import { ops, type Tensor } from '../torch/index.ts';
import { checkRange, Optimizer, type ParamGroupInput, type ParamState } from './optimizer.ts';

export type LionOptions = {
  lr: number;
  betas: [number, number];
  weightDecay: number;
  foreach: boolean;
};

const DEFAULTS: LionOptions = { lr: 1e-4, betas: [0.9, 0.99], weightDecay: 0, foreach: true };

export class Lion extends Optimizer<LionOptions> {
  constructor(params: Tensor[] | ParamGroupInput<LionOptions>[], options: Partial<LionOptions> = {}) {
    const o = { ...DEFAULTS, ...options };
    checkRange('Lion lr', o.lr, o.lr > 0, '> 0');
    checkRange('Lion betas[0]', o.betas[0], o.betas[0] >= 0 && o.betas[0] <= 1, 'in [0, 1]');
    checkRange('Lion betas[1]', o.betas[1], o.betas[1] >= 0 && o.betas[1] <= 1, 'in [0, 1]');
    super(params, o);
  }

  protected update(): void {
    for (const g of this.paramGroups) {
      const { params, grads } = this.withGrads(g);
      if (params.length === 0) continue;
      const [beta1, beta2] = g.betas;
      const expAvg = params.map((p) => this.initState(p).expAvg as Tensor);
      if (g.foreach) {
        ops._foreach_mul__Scalar(params, 1 - g.lr * g.weightDecay);
        const u = ops._foreach_mul_Scalar(expAvg, beta1);
        ops._foreach_add__List(u, grads, 1 - beta1);
        // libtorch 1.13 has no _foreach_sign
        ops._foreach_add__List(
          params,
          u.map((x) => x.sign()),
          -g.lr,
        );
        ops._foreach_mul__Scalar(expAvg, beta2);
        ops._foreach_add__List(expAvg, grads, 1 - beta2);
      } else {
        params.forEach((p, i) => {
          p.mul_(1 - g.lr * g.weightDecay);
          const update = expAvg[i]
            .mul(beta1)
            .add(grads[i], 1 - beta1)
            .sign();
          p.add_(update, -g.lr);
          expAvg[i].mul_(beta2).add_(grads[i], 1 - beta2);
        });
      }
    }
  }

  private initState(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = { expAvg: ops.zeros_like(p).keep() };
      this.state.set(p, s);
    }
    return s;
  }
}
