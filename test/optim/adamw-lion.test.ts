import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW } from '../../src/optim/adamw.ts';
import { Lion } from '../../src/optim/lion.ts';
import { scope, type Tensor, tensor } from '../../src/torch/index.ts';

// Expected values: torch 1.13 torch.optim.AdamW(lr=0.1, betas=(0.8, 0.95), eps=1e-6,
// weight_decay=0.1) on this problem, float32, 3 steps (run once with Debian python3-torch).
const ADAMW: Record<string, [number[], number[]]> = {
  plain: [
    [0.1890125274658203, -0.6780878305435181, 1.8419238328933716, -0.05375964194536209, -0.11024316400289536, -2.8693742752075195],
    [0.9301829934120178, -1.6882587671279907],
  ],
  amsgrad: [
    [0.1890125274658203, -0.6780878305435181, 1.8419238328933716, -0.05375964194536209, -0.11024316400289536, -2.8693742752075195],
    [0.9301829934120178, -1.689183235168457],
  ],
};

function params(): [Tensor, Tensor] {
  return [
    tensor([
      [0.5, -1.0, 2.0],
      [0.25, 0.0, -3.0],
    ]).keep(),
    tensor([1.0, -2.0]).keep(),
  ];
}

function grads(p: Tensor, q: Tensor, i: number): void {
  scope(() => {
    p.grad = p
      .mul(i + 1)
      .sin()
      .add(0.1 * i);
    q.grad = q
      .mul(i + 1)
      .cos()
      .sub(0.2 * i);
  });
}

for (const foreach of [true, false]) {
  for (const amsgrad of [false, true]) {
    test(`AdamW matches torch.optim.AdamW (amsgrad ${amsgrad}, ${foreach ? 'grouped' : 'per-tensor'})`, () => {
      const [p, q] = params();
      const opt = new AdamW([p, q], { lr: 0.1, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.1, amsgrad, foreach });
      for (let i = 0; i < 3; i++) {
        grads(p, q, i);
        opt.step();
      }
      const [ep, eq] = ADAMW[amsgrad ? 'amsgrad' : 'plain'];
      p.toArray().forEach((v, i) => {
        assert.ok(Math.abs(v - ep[i]) <= 1e-6, `p[${i}] ${v} vs ${ep[i]}`);
      });
      q.toArray().forEach((v, i) => {
        assert.ok(Math.abs(v - eq[i]) <= 1e-6, `q[${i}] ${v} vs ${eq[i]}`);
      });
    });
  }
}

test('Lion: first step is -lr·sign(g) after decay; grouped equals per-tensor', () => {
  const run = (foreach: boolean) => {
    const [p, q] = params();
    const opt = new Lion([p, q], { lr: 0.01, weightDecay: 0.5, foreach });
    const out: number[][] = [];
    for (let i = 0; i < 4; i++) {
      grads(p, q, i);
      opt.step();
      out.push([...p.toArray(), ...q.toArray()]);
    }
    return out;
  };
  const a = run(true);
  assert.deepEqual(a, run(false));
  const p0 = [0.5, -1.0, 2.0, 0.25, 0.0, -3.0, 1.0, -2.0];
  const g0 = [...[0.5, -1.0, 2.0, 0.25, 0.0, -3.0].map(Math.sin), ...[1.0, -2.0].map(Math.cos)];
  a[0].forEach((v, i) => {
    const expected = Math.fround(p0[i] * Math.fround(1 - 0.01 * 0.5)) - 0.01 * Math.sign(g0[i]);
    assert.ok(Math.abs(v - expected) <= 1e-7, `step 1, element ${i}: ${v} vs ${expected}`);
  });
});
