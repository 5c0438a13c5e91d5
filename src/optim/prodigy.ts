// Prodigy (konstmish/prodigy, prodigyopt 1.1.2): Adam whose step size d is estimated on the fly.
// One d is shared by all groups and applied as dlr = d·max(lr)·bias_correction to every
// parameter, exactly as upstream. The d statistics are float64 JS numbers accumulated in
// parameter order from reductions done in the parameter dtype, as upstream's `.item()` sums.
import { ops, type Tensor } from '../torch/index.ts';
import {
  addCoupledDecay,
  checkRange,
  checkSharedLr,
  Optimizer,
  type OptimizerLogs,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
} from './optimizer.ts';
import { accumulate, readScalars, sumEach } from './reduce.ts';

export type ProdigyOptions = {
  lr: number;
  betas: [number, number];
  /** Decay of the d accumulators; null means sqrt(beta2). */
  beta3: number | null;
  eps: number;
  weightDecay: number;
  /** AdamW-style decay (p -= weightDecay·dlr·p) instead of L2 added to the gradient. */
  decouple: boolean;
  useBiasCorrection: boolean;
  /** Accumulate s with d instead of d·lr (keeps d from collapsing during an lr warmup). */
  safeguardWarmup: boolean;
  d0: number;
  dCoef: number;
  growthRate: number;
  /** Statistics on every sliceP-th element only (prodigyopt 1.1). */
  sliceP: number;
  /** Grouped (_foreach) dispatch; false runs the per-tensor path, op for op like upstream. */
  foreach: boolean;
};

/** Group-level statistics upstream keeps in every param group (same values in all). */
type ProdigyStats = {
  d: number;
  dMax: number;
  dNumerator: number;
  dDenom: number;
  dHat: number;
  k: number;
};

type Options = ProdigyOptions & ProdigyStats;
type Group = ParamGroup<Options>;

const DEFAULTS: ProdigyOptions = {
  lr: 1.0,
  betas: [0.9, 0.999],
  beta3: null,
  eps: 1e-8,
  weightDecay: 0,
  decouple: true,
  useBiasCorrection: false,
  safeguardWarmup: false,
  d0: 1e-6,
  dCoef: 1.0,
  growthRate: Number.POSITIVE_INFINITY,
  sliceP: 1,
  foreach: true,
};

/** p-shaped views of the flat `s` and `p0` (same storage), for the grouped path. */
interface Views {
  s: Tensor;
  p0: Tensor;
}

export class Prodigy extends Optimizer<Options> {
  private readonly views = new Map<Tensor, Views>();

  constructor(params: Tensor[] | ParamGroupInput<ProdigyOptions>[], options: Partial<ProdigyOptions> = {}) {
    const o = { ...DEFAULTS, ...options };
    checkRange('Prodigy d0', o.d0, o.d0 > 0, '> 0');
    checkRange('Prodigy lr', o.lr, o.lr > 0, '> 0');
    checkRange('Prodigy eps', o.eps, o.eps > 0, '> 0');
    checkRange('Prodigy betas[0]', o.betas[0], o.betas[0] >= 0 && o.betas[0] < 1, 'in [0, 1)');
    checkRange('Prodigy betas[1]', o.betas[1], o.betas[1] >= 0 && o.betas[1] < 1, 'in [0, 1)');
    checkRange('Prodigy sliceP', o.sliceP, Number.isInteger(o.sliceP) && o.sliceP >= 1, 'an integer >= 1');
    const stats: ProdigyStats = { d: o.d0, dMax: o.d0, dNumerator: 0.0, dDenom: 0.0, dHat: 0.0, k: 0 };
    super(params as ParamGroupInput<Options>[], { ...o, ...stats });
    for (const g of this.paramGroups)
      checkRange('Prodigy sliceP', g.sliceP, Number.isInteger(g.sliceP) && g.sliceP >= 1, 'an integer >= 1');
    // Upstream raises at the first step; lyco says so when the config is read.
    checkSharedLr(
      'Prodigy',
      this.paramGroups.map((g) => g.lr),
    );
  }

  override logs(): OptimizerLogs {
    const d = this.paramGroups[0].d;
    return { lr: this.paramGroups.map((g) => g.lr), d, dLr: this.paramGroups.map((g) => g.d * g.lr) };
  }

  protected update(): void {
    const g0 = this.paramGroups[0];
    const [beta1, beta2] = g0.betas;
    const beta3 = g0.beta3 ?? Math.sqrt(beta2);
    const k = g0.k;
    let d = g0.d;
    let dMax = g0.dMax;
    const lr = Math.max(...this.paramGroups.map((g) => g.lr));
    const bc = g0.useBiasCorrection ? Math.sqrt(1 - beta2 ** (k + 1)) / (1 - beta1 ** (k + 1)) : 1;
    const dlr = d * lr * bc;
    const decouple = g0.decouple;
    const dNumerator = g0.dNumerator * beta3;

    // pass 1: moments, s, and the reductions for d (read from the device once)
    const work: { g: Group; params: Tensor[]; grads: Tensor[] }[] = [];
    const dots: Tensor[] = [];
    const dotScale: number[] = [];
    const l1s: Tensor[] = [];
    // A scheduler may have changed the lrs since construction: upstream raises at the step.
    checkSharedLr(
      'Prodigy',
      this.paramGroups.map((x) => x.lr),
    );
    for (const g of this.paramGroups) {
      const { params, grads } = this.withGrads(g);
      work.push({ g, params, grads });
      if (params.length === 0) continue;
      if (g.weightDecay !== 0 && !decouple) addCoupledDecay(params, grads, g.weightDecay, g.foreach);
      params.forEach((p) => {
        this.initState(p, g.sliceP);
      });
      if (!(g.lr > 0.0)) continue;
      const sAlpha = g.safeguardWarmup ? (d / g.d0) * d : (d / g.d0) * dlr;
      const before = dots.length;
      if (g.foreach && g.sliceP === 1) {
        this.statsForeach(params, grads, { beta1, beta2, beta3, d, sAlpha }, dots, l1s);
      } else {
        this.statsPerTensor(params, grads, g.sliceP, { beta1, beta2, beta3, d, sAlpha }, dots, l1s);
      }
      for (let i = before; i < dots.length; i++) dotScale.push((d / g.d0) * dlr);
    }
    const vals = readScalars([...dots, ...l1s]);
    let deltaNumerator = 0.0;
    vals.slice(0, dots.length).forEach((v, i) => {
      deltaNumerator += dotScale[i] * v;
    });
    const dDenom = accumulate(vals.slice(dots.length));

    // no progress possible (no gradient signal, or every lr is 0): nothing moves, k stays
    if (dDenom === 0) return;

    let dHat = d;
    const dNumeratorNew = dNumerator + deltaNumerator;
    if (lr > 0.0) {
      dHat = (g0.dCoef * dNumeratorNew) / dDenom;
      // exact equality on purpose: only while d is still bit-identical to d0 (upstream reads the last group's d0)
      if (d === this.paramGroups[this.paramGroups.length - 1].d0) d = Math.max(d, dHat);
      dMax = Math.max(dMax, dHat);
      d = Math.min(dMax, d * g0.growthRate);
    }

    // pass 2: the Adam step with the new d (decoupled decay with the old dlr, as upstream)
    for (const { g, params, grads } of work) {
      Object.assign(g, { dNumerator: dNumeratorNew, dDenom, d, dMax, dHat });
      if (params.length > 0) {
        const states = params.map((p) => this.state.get(p) as ParamState);
        for (const s of states) s.step = (s.step as number) + 1;
        const expAvgSq = states.map((s) => s.expAvgSq as Tensor);
        const num = beta1 > 0 ? states.map((s) => s.expAvg as Tensor) : grads;
        const value = beta1 > 0 ? -dlr : -dlr * d;
        const wd = g.weightDecay !== 0 && decouple ? -g.weightDecay * dlr : 0;
        if (g.foreach) {
          const denom = ops._foreach_sqrt(expAvgSq);
          ops._foreach_add__Scalar(denom, d * g.eps);
          if (wd !== 0) ops._foreach_add__List(params, params, wd);
          ops._foreach_addcdiv__Scalar(params, num, denom, value);
        } else {
          params.forEach((p, i) => {
            const denom = expAvgSq[i].sqrt().add_(d * g.eps);
            if (wd !== 0) p.add_(p, wd);
            p.addcdiv_(num[i], denom, value);
          });
        }
      }
      g.k = g.k + 1;
    }
  }

  private statsPerTensor(
    params: Tensor[],
    grads: Tensor[],
    sliceP: number,
    c: { beta1: number; beta2: number; beta3: number; d: number; sAlpha: number },
    dots: Tensor[],
    l1s: Tensor[],
  ): void {
    params.forEach((p, i) => {
      const st = this.state.get(p) as ParamState;
      const grad = grads[i];
      const gs = sliced(grad, sliceP);
      dots.push(ops.dot(gs, (st.p0 as Tensor).sub(sliced(p, sliceP))));
      if (c.beta1 > 0) (st.expAvg as Tensor).mul_(c.beta1).add_(grad, c.d * (1 - c.beta1));
      (st.expAvgSq as Tensor).mul_(c.beta2).addcmul_(grad, grad, c.d * c.d * (1 - c.beta2));
      const s = (st.s as Tensor).mul_(c.beta3).add_(gs, c.sAlpha);
      l1s.push(s.abs().sum());
    });
  }

  private statsForeach(
    params: Tensor[],
    grads: Tensor[],
    c: { beta1: number; beta2: number; beta3: number; d: number; sAlpha: number },
    dots: Tensor[],
    l1s: Tensor[],
  ): void {
    const states = params.map((p) => this.state.get(p) as ParamState);
    const views = params.map((p) => this.views.get(p) as Views);
    const diff = ops._foreach_sub_List(
      views.map((v) => v.p0),
      params,
    );
    ops._foreach_mul__List(diff, grads);
    dots.push(...sumEach(diff));
    if (c.beta1 > 0) {
      const expAvg = states.map((s) => s.expAvg as Tensor);
      ops._foreach_mul__Scalar(expAvg, c.beta1);
      ops._foreach_add__List(expAvg, grads, c.d * (1 - c.beta1));
    }
    const expAvgSq = states.map((s) => s.expAvgSq as Tensor);
    ops._foreach_mul__Scalar(expAvgSq, c.beta2);
    ops._foreach_addcmul__Scalar(expAvgSq, grads, grads, c.d * c.d * (1 - c.beta2));
    const s = views.map((v) => v.s);
    ops._foreach_mul__Scalar(s, c.beta3);
    ops._foreach_add__List(s, grads, c.sAlpha);
    l1s.push(...ops._foreach_norm_Scalar(s, 1));
  }

  private initState(p: Tensor, sliceP: number): void {
    if (this.state.has(p)) return;
    const flat = sliced(p, sliceP);
    const st: ParamState = { step: 0, s: ops.zeros_like(flat).keep() };
    // an all-zero parameter (a LoRA up weight) keeps p0 as a 0-dim zero, as upstream 1.1
    st.p0 = (p.any().item() ? flat.clone() : ops.zeros([], p.dtype, null, p.device)).keep();
    if (this.paramGroups[0].betas[0] > 0) st.expAvg = ops.zeros_like(p).keep();
    st.expAvgSq = ops.zeros_like(p).keep();
    this.state.set(p, st);
    this.makeViews(p, st, sliceP);
  }

  private makeViews(p: Tensor, st: ParamState, sliceP: number): void {
    if (sliceP !== 1) return;
    const p0 = st.p0 as Tensor;
    this.views.set(p, {
      s: (st.s as Tensor).view(p.shape).keep(),
      p0: (p0.ndim === 0 ? p0.expand(p.shape) : p0.view(p.shape)).keep(),
    });
  }

  override loadStateDict(sd: OptimizerStateDict): void {
    super.loadStateDict(sd);
    // JSON has no Infinity: a checkpoint written with JSON.stringify holds null for the default
    for (const g of this.paramGroups) if (g.growthRate === null) g.growthRate = Number.POSITIVE_INFINITY;
  }

  protected override importState(p: Tensor, s: ParamState): ParamState {
    const st = super.importState(p, s);
    const g = this.paramGroups.find((x) => x.params.includes(p)) as Group;
    this.makeViews(p, st, g.sliceP);
    return st;
  }

  protected override disposeState(): void {
    for (const v of this.views.values()) {
      v.s.dispose();
      v.p0.dispose();
    }
    this.views.clear();
    super.disposeState();
  }
}

/** `t.flatten()[::sliceP]` */
function sliced(t: Tensor, sliceP: number): Tensor {
  const f = t.flatten();
  return sliceP === 1 ? f : f.slice(0, null, null, sliceP);
}
