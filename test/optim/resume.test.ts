import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CosineAnnealingLR } from '../../src/optim/lr-scheduler.ts';
import type { OptimizerStateDict } from '../../src/optim/optimizer.ts';
import { Prodigy } from '../../src/optim/prodigy.ts';
import { liveTensors, manualSeed, randn, safetensors, scope, type Tensor, zeros } from '../../src/torch/index.ts';

const SHAPES = [[8, 8], [40, 24], [16], [320, 40, 1, 1]];

function makeParams(): Tensor[] {
  manualSeed(7);
  const ps = SHAPES.map((s) => randn(s).mul(0.1).keep());
  ps.push(zeros([24, 8]).keep()); // zero init: p0 is stored as a 0-dim zero
  return ps;
}

// A gradient that depends on the parameters, like a real one.
function setGrads(params: Tensor[], step: number): void {
  scope(() => {
    params.forEach((p, i) => {
      p.grad = p
        .mul(0.37 * (step + 1) + i)
        .sin()
        .add(0.05 * (i + 1));
    });
  });
}

function build(params: Tensor[], foreach: boolean) {
  const opt = new Prodigy(
    [
      { params: params.slice(0, 3), weightDecay: 0.05 },
      { params: params.slice(3), weightDecay: 0.01 },
    ],
    { dCoef: 1.5, useBiasCorrection: true, foreach },
  );
  return { opt, sched: new CosineAnnealingLR(opt, { tMax: 6 }) };
}

/** Writes the state dict as a lyco checkpoint would: tensors to safetensors, the rest to JSON. */
function saveAndLoad(sd: OptimizerStateDict, sched: object, dir: string): { sd: OptimizerStateDict; sched: never } {
  const tensors: Record<string, Tensor> = {};
  const scalars: Record<string, Record<string, number>> = {};
  for (const [id, st] of Object.entries(sd.state)) {
    scalars[id] = {};
    for (const [k, v] of Object.entries(st)) {
      if (typeof v === 'number') scalars[id][k] = v;
      else tensors[`${id}.${k}`] = v;
    }
  }
  safetensors.save(join(dir, 'optimizer.safetensors'), tensors);
  writeFileSync(join(dir, 'optimizer.json'), JSON.stringify({ groups: sd.paramGroups, scalars, sched }));
  const meta = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8'));
  const file = safetensors.load(join(dir, 'optimizer.safetensors'));
  const state: OptimizerStateDict['state'] = {};
  for (const [id, sc] of Object.entries(meta.scalars as Record<string, Record<string, number>>)) state[Number(id)] = { ...sc };
  for (const [key, t] of file) {
    const [id, k] = key.split('.');
    state[Number(id)][k] = t;
  }
  return { sd: { state, paramGroups: meta.groups }, sched: meta.sched as never };
}

for (const foreach of [true, false]) {
  test(`Prodigy resumed at step k gives bit-identical parameters (${foreach ? 'grouped' : 'per-tensor'})`, () => {
    const N = 10;
    const K = 4;
    const ref = makeParams();
    const a = build(ref, foreach);
    for (let i = 0; i < N; i++) {
      setGrads(ref, i);
      a.opt.step();
      a.sched.step();
    }

    const ps = makeParams();
    const b = build(ps, foreach);
    for (let i = 0; i < K; i++) {
      setGrads(ps, i);
      b.opt.step();
      b.sched.step();
    }
    const dir = mkdtempSync(join(tmpdir(), 'lyco-optim-'));
    try {
      const saved = saveAndLoad(b.opt.stateDict(), b.sched.stateDict(), dir);
      const fresh = ps.map((p) => p.clone().keep()); // the params as a checkpoint would restore them
      const c = build(fresh, foreach);
      c.opt.loadStateDict(saved.sd);
      c.sched.loadStateDict(saved.sched);
      assert.equal(c.opt.paramGroups[0].d, b.opt.paramGroups[0].d);
      for (let i = K; i < N; i++) {
        setGrads(fresh, i);
        c.opt.step();
        c.sched.step();
      }
      assert.ok(a.opt.paramGroups[0].d > 1e-6, 'd must have moved for the test to mean something');
      ref.forEach((p, i) => {
        assert.deepEqual(fresh[i].data(), p.data(), `param ${i} differs after resume`);
      });
      assert.deepEqual(c.opt.logs(), a.opt.logs());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('Prodigy step frees every temporary (no live tensor growth)', () => {
  const ps = makeParams();
  for (const foreach of [true, false]) {
    const { opt } = build(ps, foreach);
    setGrads(ps, 0);
    opt.step(); // first step creates the state
    const before = liveTensors();
    for (let i = 1; i < 4; i++) {
      opt.step();
    }
    assert.equal(liveTensors(), before, `live tensors grew (${foreach ? 'grouped' : 'per-tensor'})`);
    opt.zeroGrad();
    assert.equal(ps[0].grad, undefined);
    opt.dispose();
  }
});

test('Prodigy rejects different non-zero group lrs at construction, allows 0', () => {
  const ps = makeParams();
  assert.throws(
    () =>
      new Prodigy([
        { params: ps.slice(0, 2), lr: 1 },
        { params: ps.slice(2), lr: 0.5 },
      ]),
    /Prodigy: parameter groups have different non-zero lr \(1, 0.5\)/,
  );
  assert.doesNotThrow(
    () =>
      new Prodigy([
        { params: ps.slice(0, 2), lr: 1 },
        { params: ps.slice(2), lr: 0 },
      ]),
  );
  assert.throws(() => new Prodigy(ps, { d0: 0 }), /Prodigy d0 must be > 0/);
  assert.throws(() => new Prodigy(ps, { betas: [1, 0.999] }), /Prodigy betas\[0\] must be in \[0, 1\)/);
  assert.throws(() => new Prodigy(ps, { sliceP: 0 }), /sliceP/);
});

test('Prodigy with all gradients zero changes nothing (d_denom == 0)', () => {
  const ps = makeParams();
  const opt = new Prodigy(ps);
  const before = ps.map((p) => p.data());
  scope(() => {
    for (const p of ps) p.grad = zeros(p.shape);
  });
  opt.step();
  ps.forEach((p, i) => {
    assert.deepEqual(p.data(), before[i]);
  });
  assert.equal(opt.paramGroups[0].k, 0);
});
