// DAdaptAdam (facebookresearch/dadaptation 3.2): Adam with a D-adapted step size. One d for all
// groups (group lrs equal or 0); `layerScale` scales a group's contribution and step. d
// statistics are float64 sums of per-tensor reductions in the parameter dtype, as upstream.
import { ops, type Tensor } from '../torch/index.ts';
import {
  addCoupledDecay,
  checkRange,
  checkSharedLr,
  Optimizer,
  type OptimizerLogs,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
} from './optimizer.ts';
import { readScalars, sumEach } from './reduce.ts';

export type DAdaptAdamOptions = {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  decouple: boolean;
  useBiasCorrection: boolean;
  d0: number;
  growthRate: number;
  /** Per-group multiplier r (3.2's layer_scale). */
  layerScale: number;
  foreach: boolean;
};

type Options = DAdaptAdamOptions & { d: number; k: number; numeratorWeighted: number };
type Group = ParamGroup<Options>;

const DEFAULTS: DAdaptAdamOptions = {
  lr: 1.0,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 0,
  decouple: false,
  useBiasCorrection: false,
  d0: 1e-6,
  growthRate: Number.POSITIVE_INFINITY,
  layerScale: 1.0,
  foreach: true,
};

export class DAdaptAdam extends Optimizer<Options> {
  constructor(params: Tensor[] | ParamGroupInput<DAdaptAdamOptions>[], options: Partial<DAdaptAdamOptions> = {}) {
    const o = { ...DEFAULTS, ...options };
    checkRange('DAdaptAdam d0', o.d0, o.d0 > 0, '> 0');
    checkRange('DAdaptAdam lr', o.lr, o.lr > 0, '> 0');
    checkRange('DAdaptAdam eps', o.eps, o.eps > 0, '> 0');
    checkRange('DAdaptAdam betas[0]', o.betas[0], o.betas[0] >= 0 && o.betas[0] < 1, 'in [0, 1)');
    checkRange('DAdaptAdam betas[1]', o.betas[1], o.betas[1] >= 0 && o.betas[1] < 1, 'in [0, 1)');
    super(params as ParamGroupInput<Options>[], { ...o, d: o.d0, k: 0, numeratorWeighted: 0.0 });
    checkSharedLr(
      'DAdaptAdam',
      this.paramGroups.map((g) => g.lr),
    );
  }

  override logs(): OptimizerLogs {
    return { lr: this.paramGroups.map((g) => g.lr), d: this.paramGroups[0].d, dLr: this.paramGroups.map((g) => g.d * g.lr) };
  }

  protected update(): void {
    const g0 = this.paramGroups[0];
    const [beta1, beta2] = g0.betas;
    const k = g0.k;
    let d = g0.d;
    const lr = Math.max(...this.paramGroups.map((g) => g.lr));
    const bc = g0.useBiasCorrection ? Math.sqrt(1 - beta2 ** (k + 1)) / (1 - beta1 ** (k + 1)) : 1;
    const dlr = d * lr * bc;
    const decouple = g0.decouple;
    const sqrtBeta2 = Math.sqrt(beta2);

    const work: { g: Group; params: Tensor[]; grads: Tensor[] }[] = [];
    const dots: Tensor[] = [];
    const dotScale: number[] = [];
    const l1s: Tensor[] = [];
    const l1Scale: number[] = [];
    // A scheduler may have changed the lrs since construction: upstream raises at the step.
    checkSharedLr(
      'DAdaptAdam',
      this.paramGroups.map((x) => x.lr),
    );
    for (const g of this.paramGroups) {
      const { params, grads } = this.withGrads(g);
      work.push({ g, params, grads });
      if (params.length === 0) continue;
      if (g.weightDecay !== 0 && !decouple) addCoupledDecay(params, grads, g.weightDecay, g.foreach);
      for (const p of params) this.initState(p);
      if (!(g.lr > 0.0)) continue;
      const r = g.layerScale;
      const states = params.map((p) => this.state.get(p) as ParamState);
      const s = states.map((x) => x.s as Tensor);
      const expAvg = states.map((x) => x.expAvg as Tensor);
      const expAvgSq = states.map((x) => x.expAvgSq as Tensor);
      if (g.foreach) {
        // dot(g, s / (sqrt(v) + eps)) with the OLD s and v
        const denom = ops._foreach_sqrt(expAvgSq);
        ops._foreach_add__Scalar(denom, g.eps);
        const q = ops._foreach_div_List(s, denom);
        ops._foreach_mul__List(q, grads);
        dots.push(...sumEach(q));
        ops._foreach_mul__Scalar(expAvg, beta1);
        ops._foreach_add__List(expAvg, grads, r * dlr * (1 - beta1));
        ops._foreach_mul__Scalar(expAvgSq, beta2);
        ops._foreach_addcmul__Scalar(expAvgSq, grads, grads, 1 - beta2);
        ops._foreach_mul__Scalar(s, sqrtBeta2);
        ops._foreach_add__List(s, grads, dlr * (1 - sqrtBeta2));
        l1s.push(...ops._foreach_norm_Scalar(s, 1));
      } else {
        params.forEach((_p, i) => {
          const denom = expAvgSq[i].sqrt().add_(g.eps);
          dots.push(ops.dot(grads[i].flatten(), s[i].div(denom).flatten()));
          expAvg[i].mul_(beta1).add_(grads[i], r * dlr * (1 - beta1));
          expAvgSq[i].mul_(beta2).addcmul_(grads[i], grads[i], 1 - beta2);
          s[i].mul_(sqrtBeta2).add_(grads[i], dlr * (1 - sqrtBeta2));
          l1s.push(s[i].abs().sum());
        });
      }
      for (let i = 0; i < params.length; i++) {
        dotScale.push(r * dlr);
        l1Scale.push(r);
      }
    }
    const vals = readScalars([...dots, ...l1s]);
    let numeratorAcum = 0.0;
    let skL1 = 0.0;
    vals.forEach((v, i) => {
      if (i < dots.length) numeratorAcum += dotScale[i] * v;
      else skL1 += l1Scale[i - dots.length] * v;
    });
    if (skL1 === 0) return;

    const numeratorWeighted = sqrtBeta2 * g0.numeratorWeighted + (1 - sqrtBeta2) * numeratorAcum;
    if (lr > 0.0) {
      const dHat = numeratorWeighted / ((1 - sqrtBeta2) * skL1);
      d = Math.max(d, Math.min(dHat, d * g0.growthRate));
    }

    for (const { g, params } of work) {
      g.numeratorWeighted = numeratorWeighted;
      g.d = d;
      if (params.length > 0) {
        const states = params.map((p) => this.state.get(p) as ParamState);
        for (const s of states) s.step = (s.step as number) + 1;
        const expAvg = states.map((x) => x.expAvg as Tensor);
        const expAvgSq = states.map((x) => x.expAvgSq as Tensor);
        const wd = g.weightDecay !== 0 && decouple ? -g.weightDecay * dlr : 0;
        if (g.foreach) {
          const denom = ops._foreach_sqrt(expAvgSq);
          ops._foreach_add__Scalar(denom, g.eps);
          if (wd !== 0) ops._foreach_add__List(params, params, wd);
          ops._foreach_addcdiv__Scalar(params, expAvg, denom, -1);
        } else {
          params.forEach((p, i) => {
            const denom = expAvgSq[i].sqrt().add_(g.eps);
            if (wd !== 0) p.add_(p, wd);
            p.addcdiv_(expAvg[i], denom, -1);
          });
        }
      }
      g.k = g.k + 1;
    }
  }

  private initState(p: Tensor): void {
    if (this.state.has(p)) return;
    this.state.set(p, {
      step: 0,
      s: ops.zeros_like(p).keep(),
      expAvg: ops.zeros_like(p).keep(),
      expAvgSq: ops.zeros_like(p).keep(),
    });
  }

  override loadStateDict(sd: Parameters<Optimizer<Options>['loadStateDict']>[0]): void {
    super.loadStateDict(sd);
    for (const g of this.paramGroups) if (g.growthRate === null) g.growthRate = Number.POSITIVE_INFINITY;
  }
}
