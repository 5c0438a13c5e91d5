// fp16 dynamic loss scaling (torch.amp.GradScaler semantics, as accelerate drives it): unscale is
// exact for power-of-two scales, a planted inf/NaN gradient skips the optimizer and scheduler
// step and halves the scale, growth_interval good steps double it, the state round-trips.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as torch from '../../src/torch/index.ts';
import { GRAD_SCALER_DEFAULTS, GradScaler } from '../../src/train/grad-scaler.ts';

torch.setNumThreads(1);

/** A parameter with grad = values (float32). */
function param(values: number[]): torch.Tensor {
  const p = torch.tensor(values, { requiresGrad: true }).keep();
  p.grad = torch.tensor(values.map((v) => v * 3)).keep();
  return p;
}

/** An optimizer stand-in: SGD with lr 1, counting its steps. */
function sgd(params: torch.Tensor[]) {
  return {
    steps: 0,
    step() {
      this.steps++;
      torch.noGrad(() => {
        for (const p of params) p.sub_(p.grad as torch.Tensor);
      });
    },
  };
}

test("defaults are torch.cuda.amp.GradScaler's: 2**16, x2, x0.5, every 2000 steps", () => {
  assert.deepEqual(GRAD_SCALER_DEFAULTS, { initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000 });
  assert.equal(new GradScaler().scale, 2 ** 16);
});

test('unscale multiplies every gradient by 1/scale exactly for a power-of-two scale', () => {
  const s = new GradScaler({ initScale: 2 ** 20 });
  const raw = [1e-3, -7.25e-8, 3.4e-30, 123.456, 0];
  const p = torch.tensor(raw, { requiresGrad: true }).keep();
  // What backward of loss × scale makes: every gradient × 2**20, exactly.
  p.grad = torch
    .tensor(raw)
    .mul(2 ** 20)
    .keep();
  const expected = Array.from(torch.tensor(raw).data() as Float32Array);
  assert.equal(s.unscale([p]), false);
  assert.deepEqual(Array.from((p.grad as torch.Tensor).data() as Float32Array), expected);
  const loss = torch.tensor(0.3);
  assert.equal(s.scaleLoss(loss).item(), Math.fround(0.3) * 2 ** 20);
});

test('a planted inf gradient: the step is skipped, parameters unchanged, scale halved, tracker reset', () => {
  const s = new GradScaler({ initScale: 1024, growthInterval: 3 });
  const a = param([1, 2]);
  const b = param([3, 4]);
  const opt = sgd([a, b]);
  // One good step first, so the growth tracker is not zero.
  assert.equal(s.unscale([a, b]), false);
  assert.equal(s.step(opt, [a, b]), true);
  s.update();
  assert.equal(opt.steps, 1);
  assert.deepEqual(s.stateDict(), { scale: 1024, growthTracker: 1, skippedSteps: 0 });

  const before = [Array.from(a.data() as Float32Array), Array.from(b.data() as Float32Array)];
  a.grad = torch.tensor([1, Number.POSITIVE_INFINITY]).keep();
  b.grad = torch.tensor([1, 1]).keep();
  assert.equal(s.unscale([a, b]), true, 'inf found');
  assert.equal(s.step(opt, [a, b]), false, 'step skipped');
  s.update();
  assert.equal(opt.steps, 1, 'optimizer.step not called');
  assert.deepEqual([Array.from(a.data() as Float32Array), Array.from(b.data() as Float32Array)], before, 'parameters unchanged');
  assert.deepEqual(s.stateDict(), { scale: 512, growthTracker: 0, skippedSteps: 1 });

  // NaN too, found by step() when clipping did not unscale first.
  a.grad = torch.tensor([Number.NaN, 0]).keep();
  assert.equal(s.step(opt, [a, b]), false);
  s.update();
  assert.equal(s.scale, 256);
  assert.equal(opt.steps, 1);
});

test('growth: the scale doubles after growth_interval consecutive good steps, and never past float32', () => {
  const s = new GradScaler({ initScale: 8, growthInterval: 3 });
  const p = param([1]);
  const opt = sgd([p]);
  const scales: number[] = [];
  for (let i = 0; i < 7; i++) {
    p.grad = torch.tensor([0.5]).keep();
    s.step(opt, [p]);
    s.update();
    scales.push(s.scale);
  }
  assert.deepEqual(scales, [8, 8, 16, 16, 16, 32, 32]);
  assert.equal(opt.steps, 7);

  const top = new GradScaler({ initScale: 2 ** 127, growthInterval: 1 });
  p.grad = torch.tensor([0.5]).keep();
  top.step(opt, [p]);
  top.update();
  assert.equal(top.scale, 2 ** 127, 'growing to 2**128 would overflow float32: kept');
  assert.equal(top.stateDict().growthTracker, 0);
});

test('state round-trips; unscale twice in a step and update without a step are refused', () => {
  const s = new GradScaler({ initScale: 64, growthInterval: 5 });
  const p = param([1]);
  s.step(sgd([p]), [p]);
  s.update();
  const copy = new GradScaler({ growthInterval: 5 });
  copy.loadStateDict(JSON.parse(JSON.stringify(s.stateDict())));
  assert.deepEqual(copy.stateDict(), { scale: 64, growthTracker: 1, skippedSteps: 0 });
  s.unscale([p]);
  assert.throws(() => s.unscale([p]), /already called/);
  assert.throws(() => new GradScaler().update(), /without unscale/);
});
