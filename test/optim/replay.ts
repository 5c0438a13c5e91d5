// Teacher-forced replay of a golden optimizer case: before step i the recorded gradient
// grad.<p>[i] is set, after it parameters, group statistics and logged values are compared.
import assert from 'node:assert/strict';
import { CosineAnnealingLR } from '../../src/optim/lr-scheduler.ts';
import type { Optimizer, OptimizerLogs } from '../../src/optim/optimizer.ts';
import { scope, type Tensor } from '../../src/torch/index.ts';
import { camel, closeRel, type OptimCase, toleranceOf, worstRatio } from './golden-case.ts';

type AnyOptimizer = Optimizer<{ lr: number } & Record<string, never>> & { logs(): OptimizerLogs };
export type Build = (groups: ({ params: Tensor[] } & Record<string, unknown>)[], kwargs: Record<string, unknown>) => AnyOptimizer;

const STATS: [string, string][] = [
  ['d', 'd'],
  ['d_max', 'dMax'],
  ['d_hat', 'dHat'],
  ['d_numerator', 'dNumerator'],
  ['d_denom', 'dDenom'],
  ['numerator_weighted', 'numeratorWeighted'],
];

/** Returns the worst parameter violation ratio seen (<= 1), for reporting. */
export function replay(c: OptimCase, tensors: Map<string, Tensor>, build: Build): number {
  const tol = toleranceOf(c);
  const params = new Map(c.param_names.map((n) => [n, (tensors.get(`init.${n}`) as Tensor).clone().keep()]));
  const groups = c.param_groups.map(({ params: names, ...rest }) => ({
    ...camel(rest),
    params: names.map((n) => params.get(n) as Tensor),
  }));
  const opt = build(groups, camel(c.optimizer_kwargs));
  const sched = c.lr_scheduler ? new CosineAnnealingLR(opt, { tMax: c.lr_scheduler.T_max, etaMin: c.lr_scheduler.eta_min }) : undefined;
  const ps = c.per_step;
  let worst = 0;
  for (let i = 0; i < c.steps_done; i++) {
    const at = `${c.case} step ${i}`;
    ps.lr_used[i].forEach((lr, g) => {
      assert.ok(closeRel(opt.paramGroups[g].lr, lr, 1e-12), `${at}: lr of group ${g}`);
    });
    const d = opt.logs().d as number;
    assert.ok(closeRel(d, ps.d_before[i], tol.d), `${at}: d before the step ${d} vs ${ps.d_before[i]}`);
    scope(() => {
      for (const [n, p] of params) p.grad = (tensors.get(`grad.${n}`) as Tensor).select(0, i).clone();
    });
    opt.step();
    for (const [n, p] of params) {
      const expected = scope(() => (tensors.get(`param.${n}`) as Tensor).select(0, i).toArray());
      const r = worstRatio(p.toArray(), expected, tol.atol, tol.rtol);
      worst = Math.max(worst, r);
      assert.ok(r <= 1, `${at}: param ${n} off by ${r.toFixed(2)}x the tolerance`);
    }
    ps.group_after[i].forEach((ga, g) => {
      const group = opt.paramGroups[g] as unknown as Record<string, number>;
      assert.equal(group.k, ga.k, `${at}: k of group ${g}`);
      for (const [up, ours] of STATS) {
        const e = (ga as unknown as Record<string, number | undefined>)[up];
        if (e === undefined) continue;
        assert.ok(closeRel(group[ours], e, tol.d), `${at}: group ${g} ${ours} ${group[ours]} vs ${e}`);
      }
    });
    sched?.step();
    const logs = opt.logs();
    ps.lr_after_scheduler[i].forEach((lr, g) => {
      assert.ok(closeRel(logs.lr[g], lr, 1e-12), `${at}: lr after scheduler, group ${g}`);
    });
    ps.d_times_lr_logged[i].forEach((v, g) => {
      assert.ok(closeRel((logs.dLr as number[])[g], v, tol.d), `${at}: d*lr logged, group ${g}: ${(logs.dLr as number[])[g]} vs ${v}`);
    });
  }
  opt.dispose();
  for (const p of params.values()) p.dispose();
  return worst;
}
