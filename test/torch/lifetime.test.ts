// scope()/keep()/dispose(): tensors made in a scope are freed unless returned or kept, and a
// long training-style loop inside scope holds memory flat.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { torch } from '../../src/index.ts';

test('scope frees what it made, moves what it returns to the outer scope', () => {
  const before = torch.liveTensors();
  const kept = torch.scope(() => {
    const a = torch.ones([4]);
    const b = a.add(1);
    const inner = torch.scope(() => {
      const c = b.mul(2);
      c.sub(1); // dropped
      return { c, list: [b.add(3)] };
    });
    assert.equal(inner.c.toArray()[0], 4);
    return inner.list[0];
  });
  assert.equal(torch.liveTensors(), before + 1);
  assert.deepEqual(kept.toArray(), [5, 5, 5, 5]);
  kept.dispose();
  assert.equal(torch.liveTensors(), before);
  assert.ok(kept.isDisposed);
});

test('keep() survives its scope; disposed tensors give a clear error', () => {
  const before = torch.liveTensors();
  let t: torch.Tensor | undefined;
  torch.scope(() => {
    t = torch.zeros([2]).keep();
    torch.zeros([3]);
  });
  assert.equal(torch.liveTensors(), before + 1);
  t?.dispose();
  assert.throws(() => t?.add(1), /tensor was disposed/);
  assert.equal(torch.liveTensors(), before);
});

test('a throwing scope still frees its tensors; async functions are refused', () => {
  const before = torch.liveTensors();
  assert.throws(
    () =>
      torch.scope(() => {
        torch.ones([8]);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(torch.liveTensors(), before);
  assert.throws(() => torch.scope(async () => torch.ones([1])), /synchronous/);
});

test('external memory is counted once per storage (views share it)', () => {
  torch.scope(() => {
    const base = torch.externalBytes();
    const a = torch.zeros([1024]);
    assert.equal(torch.externalBytes(), base + 4096);
    a.view(32, 32);
    a.index([0, 10]);
    assert.equal(torch.externalBytes(), base + 4096);
  });
});

test('10,000 forward/backward/update steps inside scope keep RSS within 5% of step 100', () => {
  torch.manualSeed(0);
  const w1 = torch.randn([64, 32], { requiresGrad: true }).keep();
  const w2 = torch.randn([1, 64], { requiresGrad: true }).keep();
  const live0 = torch.liveTensors();
  let rss100 = 0;
  for (let i = 0; i < 10_000; i++) {
    torch.scope(() => {
      const x = torch.randn([16, 32]);
      const y = torch.F.silu(torch.F.linear(x, w1)).matmul(w2.t()).square().mean();
      y.backward();
      torch.noGrad(() => {
        for (const p of [w1, w2]) {
          p.sub_(p.grad as torch.Tensor, 1e-4);
          p.grad = undefined;
        }
      });
    });
    if (i === 99) {
      global.gc?.();
      rss100 = process.memoryUsage().rss;
    }
  }
  global.gc?.();
  const rss = process.memoryUsage().rss;
  assert.equal(torch.liveTensors(), live0, 'tensors leaked');
  assert.ok(rss <= rss100 * 1.05, `RSS grew from ${rss100} to ${rss} bytes`);
  w1.dispose();
  w2.dispose();
});
