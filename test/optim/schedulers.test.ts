import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CosineAnnealingLR, LambdaLR } from '../../src/optim/lr-scheduler.ts';
import { createScheduler, parseLiteral } from '../../src/optim/scheduler-factory.ts';
import * as S from '../../src/optim/schedules.ts';
import { goldenDir } from '../helpers/golden.ts';

interface SchedulerCase {
  case: string;
  max_train_steps: number;
  args: {
    learning_rate: number;
    lr_scheduler: string;
    lr_scheduler_type: string;
    lr_scheduler_args: string[] | null;
    lr_warmup_steps: number;
    lr_scheduler_num_cycles: number;
    lr_scheduler_power: number;
  };
  optimizer: { defaults_lr: number; group_initial_lrs: number[] };
  lr_used?: number[][];
  get_last_lr_after_step?: number[][];
  error?: { type: string; message: string };
}

function target(lrs: number[], defaultLr = lrs[0]) {
  return { paramGroups: lrs.map((lr) => ({ lr })), defaults: { lr: defaultLr } };
}

function build(c: SchedulerCase) {
  const opt = target(c.optimizer.group_initial_lrs, c.optimizer.defaults_lr);
  const sched = createScheduler(opt, {
    lrScheduler: c.args.lr_scheduler,
    lrSchedulerType: c.args.lr_scheduler_type,
    lrSchedulerArgs: c.args.lr_scheduler_args ?? undefined,
    lrWarmupSteps: c.args.lr_warmup_steps,
    lrSchedulerNumCycles: c.args.lr_scheduler_num_cycles,
    lrSchedulerPower: c.args.lr_scheduler_power,
    maxTrainSteps: c.max_train_steps,
  });
  return { opt, sched };
}

function assertClose(actual: number, expected: number, rtol: number, what: string) {
  const ok = actual === expected || Math.abs(actual - expected) <= rtol * Math.abs(expected);
  assert.ok(ok, `${what}: got ${actual}, expected ${expected} (rtol ${rtol})`);
}

test('schedulers reproduce every golden case (lr_used rtol 1e-12)', (t) => {
  const dir = goldenDir(t, 'schedulers');
  if (!dir) return;
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 16, `expected the 16 scheduler cases, found ${files.length}`);
  for (const f of files) {
    const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as SchedulerCase;
    if (c.error) {
      assert.equal(c.error.type, 'ValueError');
      assert.throws(() => build(c), /does not require lr_warmup_steps/, c.case);
      continue;
    }
    const { opt, sched } = build(c);
    const used = c.lr_used as number[][];
    const after = c.get_last_lr_after_step as number[][];
    for (let i = 0; i < used.length; i++) {
      used[i].forEach((lr, g) => {
        assertClose(opt.paramGroups[g].lr, lr, 1e-12, `${c.case} step ${i} group ${g}`);
      });
      sched.step();
      after[i].forEach((lr, g) => {
        assertClose(sched.getLastLr()[g], lr, 1e-12, `${c.case} after ${i} group ${g}`);
      });
    }
  }
});

test('spec check values, W=2 T=10 (spec-training §6)', () => {
  const lambdas = (fn: S.LrLambda) => Array.from({ length: 12 }, (_, s) => fn(s));
  const close = (a: number[], e: number[], what: string) =>
    a.forEach((v, i) => {
      assert.ok(Math.abs(v - e[i]) < 1e-6, `${what}[${i}] = ${v}, expected ${e[i]}`);
    });
  close(lambdas(S.linear(2, 10)), [0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0, 0], 'linear');
  close(lambdas(S.cosine(2, 10)), [0, 0.5, 1, 0.96194, 0.853553, 0.691342, 0.5, 0.308658, 0.146447, 0.03806, 0, 0.03806], 'cosine');
  close(
    lambdas(S.cosineWithHardRestarts(2, 10, 2)),
    [0, 0.5, 1, 0.853553, 0.5, 0.146447, 1, 0.853553, 0.5, 0.146447, 0, 0],
    'cosine_with_restarts',
  );
  close(
    lambdas(S.polynomialDecay(2, 10, 1, 1e-7, 2)),
    [0, 0.5, 1, 0.765625, 0.5625, 0.390625, 0.25, 0.140625, 0.0625, 0.015625, 1e-7, 1e-7],
    'polynomial',
  );
});

test('CosineAnnealingLR T_max=200 is periodic, recursive form check values', () => {
  const opt = target([1]);
  const sched = new CosineAnnealingLR(opt, { tMax: 200 });
  const seen = new Map<number, number>();
  for (let t = 1; t <= 600; t++) {
    sched.step();
    seen.set(t, opt.paramGroups[0].lr);
  }
  const expect: [number, number][] = [
    [1, 0.9999383162408303],
    [2, 0.9997532801828658],
    [100, 0.5],
    [199, 6.168375916970614e-5],
    [200, 0.0],
    [201, 6.168375916970614e-5],
    [202, 0.0002467198171342],
    [300, 0.5000000000000004],
    [400, 1.0000000000000016],
    [600, 0.0],
  ];
  for (const [t, v] of expect) assertClose(seen.get(t) as number, v, 1e-12, `t=${t}`);
});

test('CosineAnnealingLR warmup (lyco extension) ramps, then anneals from the base lr', () => {
  const opt = target([2]);
  const sched = new CosineAnnealingLR(opt, { tMax: 4, warmupSteps: 2 });
  const lrs = [opt.paramGroups[0].lr];
  for (let i = 0; i < 7; i++) {
    sched.step();
    lrs.push(opt.paramGroups[0].lr);
  }
  const closed = (t: number) => (2 * (1 + Math.cos((Math.PI * t) / 4))) / 2;
  assert.deepEqual(lrs.slice(0, 3), [0, 1, 2]);
  for (let t = 1; t <= 5; t++) assertClose(lrs[2 + t], closed(t), 1e-12, `t=${t}`);
});

test('scheduler state save/load continues identically', () => {
  const run = (split: number | undefined) => {
    let opt = target([1, 0.5]);
    let sched = createScheduler(opt, {
      lrScheduler: 'cosine_with_restarts',
      lrSchedulerNumCycles: 3,
      lrWarmupSteps: '10%',
      maxTrainSteps: 40,
    });
    const out: number[] = [];
    for (let i = 0; i < 45; i++) {
      if (i === split) {
        const saved = JSON.parse(JSON.stringify({ lrs: opt.paramGroups.map((g) => g.lr), s: sched.stateDict() }));
        opt = target([1, 0.5]);
        sched = createScheduler(opt, {
          lrScheduler: 'cosine_with_restarts',
          lrSchedulerNumCycles: 3,
          lrWarmupSteps: '10%',
          maxTrainSteps: 40,
        });
        sched.loadStateDict(saved.s);
        saved.lrs.forEach((lr: number, g: number) => {
          opt.paramGroups[g].lr = lr;
        });
      }
      out.push(...opt.paramGroups.map((g) => g.lr));
      sched.step();
    }
    return out;
  };
  assert.deepEqual(run(17), run(undefined));
  const cos = (split: number | undefined) => {
    let opt = target([1]);
    let sched = new CosineAnnealingLR(opt, { tMax: 7, etaMin: 0.01 });
    const out: number[] = [];
    for (let i = 0; i < 30; i++) {
      if (i === split) {
        const state = sched.stateDict();
        const lr = opt.paramGroups[0].lr;
        opt = target([1]);
        sched = new CosineAnnealingLR(opt, { tMax: 7, etaMin: 0.01 });
        sched.loadStateDict(state);
        opt.paramGroups[0].lr = lr;
      }
      out.push(opt.paramGroups[0].lr);
      sched.step();
    }
    return out;
  };
  assert.deepEqual(cos(9), cos(undefined));
});

test('factory errors name the option', () => {
  const opt = () => target([1]);
  assert.throws(
    () => createScheduler(opt(), { lrSchedulerType: 'CosineAnnealingLR', lrSchedulerArgs: ['T_max=10'], lrWarmupSteps: 3 }),
    /CosineAnnealingLR does not require lr_warmup_steps/,
  );
  assert.throws(() => createScheduler(opt(), { lrSchedulerType: 'CosineAnnealingLR' }), /needs T_max/);
  assert.throws(() => createScheduler(opt(), { lrSchedulerType: 'CosineAnnealingLR', lrSchedulerArgs: ['Tmax=10'] }), /no argument "Tmax"/);
  assert.throws(() => createScheduler(opt(), { lrScheduler: 'cosine' }), /needs max_train_steps/);
  assert.throws(() => createScheduler(opt(), { lrScheduler: 'cosin', maxTrainSteps: 5 }), /unknown "cosin"/);
  assert.throws(() => createScheduler(opt(), { lrScheduler: 'linear', maxTrainSteps: 5, lrWarmupSteps: 2.5 }), /lr_warmup_steps/);
  assert.throws(() => createScheduler(target([1e-8]), { lrScheduler: 'polynomial', maxTrainSteps: 5 }), /lr_end/);
});

test('lr_scheduler_args literals read like ast.literal_eval', () => {
  assert.equal(parseLiteral('200'), 200);
  assert.equal(parseLiteral('1e-6'), 1e-6);
  assert.equal(parseLiteral('False'), false);
  assert.equal(parseLiteral("'x'"), 'x');
  assert.deepEqual(parseLiteral('(0.9, 0.99)'), [0.9, 0.99]);
  assert.deepEqual(parseLiteral('0.9,0.99'), [0.9, 0.99]);
  assert.throws(() => parseLiteral('abc'), /Python literal/);
  const opt = target([1]);
  const s = new LambdaLR(opt, (x) => x / 10);
  s.step();
  assert.equal(opt.paramGroups[0].lr, 0.1);
});
