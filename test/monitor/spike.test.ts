// d*lr spike detection on synthetic series. "Normal" curves are real Prodigy runs (lyco's
// optim.Prodigy on a small noisy regression, minibatch gradients) under constant, warmup,
// periodic CosineAnnealingLR (T_max < steps) and cosine-with-restarts schedules; spikes are
// planted into them (an instant jump, a fast ramp) and must be found at the planted step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DlrObservation, DlrSpikeDetector, decideSpike, type Spike } from '../../src/monitor/spike.ts';
import { CosineAnnealingLR, LambdaLR, type LRScheduler, Prodigy, type ProdigyOptions, schedules } from '../../src/optim/index.ts';
import * as torch from '../../src/torch/index.ts';

const STEPS = 600;

/** One Prodigy run: d, lr and d*lr as logged after each optimizer + scheduler step. */
function prodigyCurve(seed: number, schedule: string, kw: Partial<ProdigyOptions>): DlrObservation[] {
  return torch.scope(() => {
    const g = new torch.Generator({ seed });
    const n = 256;
    const x = torch.randn([n, 12], { generator: g });
    const y = x
      .matmul(torch.randn([12, 16], { generator: g }))
      .tanh()
      .matmul(torch.randn([16, 4], { generator: g }))
      .add(torch.randn([n, 4], { generator: g }).mul(0.3));
    const w1 = torch.randn([12, 16], { generator: g }).mul(0.3).requiresGrad_();
    const w2 = torch.randn([16, 4], { generator: g }).mul(0.3).requiresGrad_();
    const opt = new Prodigy([w1, w2], kw);
    const sched: Record<string, () => LRScheduler | null> = {
      constant: () => null,
      warmup50: () => new LambdaLR(opt, schedules.constantWithWarmup(50)),
      cosineAnnealingT100: () => new CosineAnnealingLR(opt, { tMax: 100 }),
      cosineRestarts4: () => new LambdaLR(opt, schedules.cosineWithHardRestarts(0, STEPS, 4)),
    };
    const lrs = sched[schedule]();
    const out: DlrObservation[] = [];
    for (let step = 1; step <= STEPS; step++) {
      torch.scope(() => {
        const idx = torch.randint(0, n, [8], { generator: g });
        const loss = x.indexSelect(0, idx).matmul(w1).tanh().matmul(w2).sub(y.indexSelect(0, idx)).pow(2).mean();
        loss.backward();
        opt.step();
        opt.zeroGrad();
        lrs?.step();
        const l = opt.logs();
        out.push({ step, lr: l.lr[0], dLr: l.dLr![0], d: l.d });
      });
    }
    return out;
  });
}

let cached: { name: string; obs: DlrObservation[] }[] | undefined;
function curves(): { name: string; obs: DlrObservation[] }[] {
  if (cached) return cached;
  cached = [];
  const configs: [string, Partial<ProdigyOptions>][] = [
    ['defaults', {}],
    ['safeguard+biascorr', { safeguardWarmup: true, useBiasCorrection: true }],
    ['dcoef2+wd0.05', { dCoef: 2, weightDecay: 0.05 }],
  ];
  for (const schedule of ['constant', 'warmup50', 'cosineAnnealingT100', 'cosineRestarts4']) {
    for (const [label, kw] of configs) {
      for (const seed of [1, 2]) cached.push({ name: `${schedule}/${label}/seed${seed}`, obs: prodigyCurve(seed, schedule, kw) });
    }
  }
  return cached;
}

/** Feeds a series; `withD` false feeds only what TensorBoard shows (lr and d*lr). */
function feed(det: DlrSpikeDetector, obs: DlrObservation[], withD: boolean): Spike[] {
  const found: Spike[] = [];
  for (const o of obs) {
    const s = det.observe(withD ? o : { step: o.step, lr: o.lr, dLr: o.dLr });
    if (s) found.push(s);
  }
  return found;
}

/** The series with d (and d*lr) multiplied by factor(step) from `at` on. */
function plant(obs: DlrObservation[], at: number, factor: (k: number) => number): DlrObservation[] {
  return obs.map((o) => (o.step < at ? o : { ...o, d: o.d! * factor(o.step - at), dLr: o.dLr * factor(o.step - at) }));
}

test('no false alarms on real Prodigy curves (constant, warmup, periodic cosine, restarts)', () => {
  for (const { name, obs } of curves()) {
    // The curves do what the detector must be robust to: d grows from d0 by orders of magnitude.
    const ds = obs.map((o) => o.d!);
    assert.ok(Math.max(...ds) > 100 * ds[0], `${name}: d grows from d0 (${ds[0]} → ${Math.max(...ds)})`);
    for (const withD of [true, false]) {
      const det = new DlrSpikeDetector();
      assert.deepEqual(feed(det, obs, withD), [], `${name} (${withD ? 'd' : 'd*lr / lr'}): no spike`);
      assert.ok(det.armed, `${name}: d settled, so a spike could have been called`);
    }
  }
});

test('periodic lr alone never alarms, although raw d*lr swings from 0 to its peak every 2·T_max', () => {
  const obs: DlrObservation[] = [];
  for (let step = 1; step <= 1000; step++) {
    const d = step < 30 ? 1e-6 * 100 ** (step / 30) : 1e-4 * (1 + 0.01 * Math.sin(step * 1.7)); // growth, then ±1 % jitter
    const lr = (1 + Math.cos((Math.PI * step) / 50)) / 2;
    obs.push({ step, lr, dLr: d * lr });
  }
  const det = new DlrSpikeDetector();
  assert.deepEqual(feed(det, obs, false), []);
  assert.ok(det.armed);
});

test('an instant jump is detected at the planted step; cut-off is the step before', () => {
  for (const { name, obs } of curves()) {
    for (const at of [250, 480]) {
      const planted = plant(obs, at, () => 3);
      // At a step with lr 0 only d itself can show the jump; feed d then.
      const withD = planted[at - 1].lr === 0;
      const det = new DlrSpikeDetector();
      const found = feed(det, planted, withD);
      assert.equal(found.length, 1, `${name} @${at}: one spike, got ${JSON.stringify(found)}`);
      assert.equal(found[0].step, at, `${name}: detected at the planted step`);
      assert.equal(found[0].cutoff, at - 1, `${name}: cut-off just before it`);
      assert.ok(Math.abs(found[0].factor - 3) < 0.16, `${name}: factor ${found[0].factor} ≈ 3`);
    }
  }
});

test('a fast ramp (×1.1 per step) is detected where it crosses 2× the level; cut-off at its start', () => {
  for (const { name, obs } of curves().filter((c) => c.name.includes('constant'))) {
    const at = 300;
    const found = feed(
      new DlrSpikeDetector(),
      plant(obs, at, (k) => 1.1 ** (k + 1)),
      true,
    );
    assert.equal(found.length, 1, name);
    assert.equal(found[0].step, at + 7, `${name}: 1.1^8 is the first factor above 2`);
    assert.equal(found[0].cutoff, at - 1, name);
  }
});

test('a slow drift (+0.1 % per step, doubling over ~700 steps) is followed, not flagged', () => {
  const { obs } = curves()[0];
  assert.deepEqual(
    feed(
      new DlrSpikeDetector(),
      plant(obs, 100, (k) => 1.001 ** (k + 1)),
      true,
    ),
    [],
  );
});

test('after a spike the detector re-arms on the new level and reports the next one (warn keeps going)', () => {
  const { obs } = curves()[0];
  const twice = plant(
    plant(obs, 200, () => 3),
    400,
    () => 4,
  );
  const found = feed(new DlrSpikeDetector(), twice, true);
  assert.deepEqual(
    found.map((s) => [s.step, s.cutoff]),
    [
      [200, 199],
      [400, 399],
    ],
  );
});

test('state() survives JSON and a restored detector continues identically', () => {
  const { obs } = curves()[5];
  const planted = plant(obs, 420, () => 5);
  const whole = feed(new DlrSpikeDetector(), planted, false);
  const first = new DlrSpikeDetector();
  feed(first, planted.slice(0, 300), false);
  const resumed = DlrSpikeDetector.fromState(JSON.parse(JSON.stringify(first.state())));
  const rest = feed(resumed, planted.slice(300), false);
  assert.deepEqual(rest, whole);
  assert.equal(whole.length, 1);
  assert.equal(whole[0].step, 420);
});

test('observeLogs reads group 0 of optimizer logs and ignores optimizers without d', () => {
  const det = new DlrSpikeDetector({ window: 2, minGrowth: 1 });
  assert.equal(det.observeLogs(1, { lr: [1] }), undefined);
  det.observeLogs(1, { lr: [1, 1], d: 1e-4, dLr: [1e-4, 1e-4] });
  det.observeLogs(2, { lr: [1, 1], d: 1e-4, dLr: [1e-4, 1e-4] });
  const s = det.observeLogs(3, { lr: [1, 1], d: 5e-4, dLr: [5e-4, 5e-4] });
  assert.deepEqual([s?.step, s?.cutoff, s?.factor], [3, 2, 5]);
});

test('policies: warn, stop after saving, rollback to the last save at or before the cut-off', () => {
  const spike: Spike = { step: 250, cutoff: 249, d: 3e-4, dLr: 2e-4, level: 1e-4, levelStep: 249, factor: 3 };
  const warn = decideSpike('warn', spike, [100]);
  assert.equal(warn.action, 'warn');
  assert.equal(warn.cutoff, 249);
  assert.match(warn.message, /step 250.*3\.0×.*--max_train_steps 249 and T_max=249/);
  const stop = decideSpike('stop', spike, []);
  assert.deepEqual([stop.action, stop.action === 'stop' && stop.save, stop.cutoff], ['stop', true, 249]);
  const rb = decideSpike('rollback', spike, [300, 100, 200, 250]);
  assert.deepEqual([rb.action, rb.action === 'rollback' && rb.toStep, rb.cutoff], ['rollback', 200, 249]);
  const atCut = decideSpike('rollback', spike, [249]);
  assert.equal(atCut.action === 'rollback' && atCut.toStep, 249);
  const none = decideSpike('rollback', spike, [250, 300]);
  assert.equal(none.action, 'stop');
  assert.match(none.message, /No save at or before step 249/);
});

test('option checks', () => {
  assert.throws(() => new DlrSpikeDetector({ window: 1 }), /window/);
  assert.throws(() => new DlrSpikeDetector({ ratio: 1.01 }), /ratio/);
  assert.throws(() => new DlrSpikeDetector({ settleTolerance: 0.9 }), /settleTolerance/);
});
