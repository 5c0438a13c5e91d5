// Gradients of the ops Stable Diffusion training uses, in float64, against central finite
// differences (torch.gradcheck's idea): relative error below 1e-6 for every element.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { torch } from '../../src/index.ts';

const { F } = torch;
type T = torch.Tensor;
const f64 = { dtype: 'float64' as const };

function rnd(shape: number[], seed: number, opts: { positive?: boolean; scale?: number } = {}): T {
  const g = new torch.Generator({ seed });
  const t = torch.randn(shape, { ...f64, generator: g }).keep();
  if (opts.scale) t.mul_(opts.scale);
  if (opts.positive) {
    const a = torch.scope(() => t.abs().add(0.5));
    t.copy_(a);
  }
  return t;
}

const cases: [string, (...x: T[]) => T, () => T[]][] = [
  ['linear', (x, w, b) => F.linear(x, w, b), () => [rnd([3, 4], 1), rnd([5, 4], 2), rnd([5], 3)]],
  ['conv2d 3x3 pad 1', (x, w, b) => F.conv2d(x, w, b, { padding: 1 }), () => [rnd([1, 2, 5, 5], 4), rnd([3, 2, 3, 3], 5), rnd([3], 6)]],
  ['conv2d stride 2', (x, w) => F.conv2d(x, w, undefined, { stride: 2, padding: 1 }), () => [rnd([1, 2, 5, 5], 7), rnd([2, 2, 3, 3], 8)]],
  ['conv2d 1x1', (x, w, b) => F.conv2d(x, w, b), () => [rnd([2, 3, 3, 3], 9), rnd([4, 3, 1, 1], 10), rnd([4], 11)]],
  ['group_norm', (x, w, b) => F.groupNorm(x, 2, w, b), () => [rnd([2, 4, 3, 3], 12), rnd([4], 13), rnd([4], 14)]],
  ['layer_norm', (x, w, b) => F.layerNorm(x, [4], w, b), () => [rnd([3, 4], 15), rnd([4], 16), rnd([4], 17)]],
  [
    'baddbmm',
    (i, a, b) => F.baddbmm(i, a, b, { beta: 0.5, alpha: 0.7 }),
    () => [rnd([2, 3, 3], 18), rnd([2, 3, 4], 19), rnd([2, 4, 3], 20)],
  ],
  ['softmax', (x) => F.softmax(x, -1), () => [rnd([3, 5], 21)]],
  ['log_softmax', (x) => F.logSoftmax(x, 1), () => [rnd([3, 5], 22)]],
  ['silu', (x) => F.silu(x), () => [rnd([4, 5], 23)]],
  ['gelu', (x) => F.gelu(x), () => [rnd([4, 5], 24)]],
  ['gelu tanh', (x) => F.gelu(x, 'tanh'), () => [rnd([4, 5], 25)]],
  ['interpolate nearest x2', (x) => F.interpolate(x, { scaleFactor: 2 }), () => [rnd([1, 2, 3, 3], 26)]],
  ['interpolate bilinear', (x) => F.interpolate(x, { size: [5, 4], mode: 'bilinear' }), () => [rnd([1, 2, 3, 3], 27)]],
  ['kron', (a, b) => F.kron(a, b), () => [rnd([2, 3], 28), rnd([3, 2], 29)]],
  ['einsum', (a, b) => F.einsum('bij,bjk->bik', a, b), () => [rnd([2, 3, 4], 30), rnd([2, 4, 2], 31)]],
  ['matmul', (a, b) => a.matmul(b), () => [rnd([3, 4], 32), rnd([4, 2], 33)]],
  ['bmm', (a, b) => a.bmm(b), () => [rnd([2, 3, 4], 34), rnd([2, 4, 2], 35)]],
  ['add/mul/sub/div broadcast', (a, b) => a.add(b).mul(a).sub(b.mul(0.3)).div(b.square().add(1)), () => [rnd([3, 4], 36), rnd([4], 37)]],
  ['exp/log/sqrt/rsqrt', (x) => x.exp().add(x.log()).add(x.sqrt()).add(x.rsqrt()), () => [rnd([3, 4], 38, { positive: true })]],
  ['tanh/sigmoid/pow', (x) => x.tanh().add(x.sigmoid()).add(x.pow(3)), () => [rnd([3, 4], 39)]],
  ['reductions sum/mean dims', (x) => x.sum(1, true).add(x.mean([0, 1])), () => [rnd([3, 4], 40)]],
  ['var/std', (x) => x.var(1).add(x.std(0, { correction: 0 }).sum()), () => [rnd([4, 5], 41)]],
  ['vector norm', (x) => x.norm(2, 1), () => [rnd([3, 4], 42)]],
  [
    'cat/stack/chunk/split',
    (a, b) => F.stack([F.cat([a, b], 0).chunk(2, 1)[1], a.split(2, 1)[0].expand(3, 2)], 0),
    () => [rnd([1, 4], 43), rnd([2, 4], 44)],
  ],
  ['permute/reshape/transpose', (x) => x.permute(2, 0, 1).reshape(4, 6).transpose(0, 1).contiguous(), () => [rnd([2, 3, 4], 45)]],
  ['mse_loss', (a, b) => F.mseLoss(a, b), () => [rnd([3, 4], 46), rnd([3, 4], 47)]],
  ['huber_loss', (a, b) => F.huberLoss(a, b, 0.5), () => [rnd([3, 4], 48), rnd([3, 4], 49)]],
  ['dropout (fixed generator)', (x) => F.dropout(x, 0.3, true, new torch.Generator({ seed: 5 })), () => [rnd([4, 5], 50)]],
  ['avg_pool2d', (x) => F.avgPool2d(x, 2), () => [rnd([1, 2, 4, 4], 51)]],
  ['pad', (x) => F.pad(x, [1, 2, 0, 1], 0.5), () => [rnd([1, 1, 3, 3], 52)]],
  [
    'scaled_dot_product_attention',
    (q, k, v) => F.scaledDotProductAttention(q, k, v),
    () => [rnd([2, 3, 4], 53), rnd([2, 5, 4], 54), rnd([2, 5, 4], 55)],
  ],
  ['where/clamp', (a, b) => F.where(a.gt(0), a.clamp(-0.5, 0.5), b), () => [rnd([3, 4], 56, { scale: 3 }), rnd([3, 4], 57)]],
  ['index/gather/index_select', (x) => x.index(1).add(x.indexSelect(0, torch.tensor([2n, 0n])).sum(0)), () => [rnd([3, 4], 58)]],
  ['cumsum/lerp', (a, b) => a.cumsum(1).lerp(b, 0.3), () => [rnd([3, 4], 59), rnd([3, 4], 60)]],
  ['amax', (x) => x.amax(1), () => [rnd([3, 4], 61)]],
  [
    'resnet-style block',
    (x, w, g) => F.silu(F.groupNorm(F.conv2d(x, w, undefined, { padding: 1 }), 2, g)),
    () => [rnd([1, 2, 4, 4], 62), rnd([4, 2, 3, 3], 63), rnd([4], 64)],
  ],
];

test(`gradients match finite differences for ${cases.length} ops (float64, rel err < 1e-6)`, async (t) => {
  assert.ok(cases.length >= 30);
  for (const [name, fn, make] of cases) {
    await t.test(name, () => {
      const inputs = make();
      try {
        const r = torch.gradcheck(fn, inputs);
        assert.ok(r.checked > 0);
        assert.ok(r.maxRelError < 1e-6, `${name}: max relative error ${r.maxRelError}`);
      } finally {
        for (const x of inputs) x.dispose();
      }
    });
  }
});

test('gradcheck detects a wrong gradient', () => {
  // detach() in the middle hides part of the graph: the analytic gradient is then wrong.
  const x = rnd([3], 99);
  const r = torch.gradcheck((a) => a.mul(a.detach()), [x]);
  assert.ok(r.maxRelError > 1e-3);
  x.dispose();
});
