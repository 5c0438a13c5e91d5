// Frozen half-precision weights computed in float32 (nn/frozen.ts, native/src/frozen.cc): equal
// to float32 layers holding the same (half-rounded) values, forward and input gradient, for
// every conv/linear shape SD uses; a whole UNet (golden tiny SD1.5) too, with and without
// gradient checkpointing; refused for trainable weights.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { CheckpointTape } from '../../src/nn/checkpoint.ts';
import { Conv2d, Embedding, frozenSettings, Linear, type Module, storeFrozenWeights } from '../../src/nn/index.ts';
import type { DType, Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';
import { assertClose, diff } from '../models/compare.ts';

/** Rounds every parameter through `dtype` in place (the values an fp16 checkpoint holds). */
function roundThrough(m: Module, dtype: DType): void {
  torch.noGrad(() => {
    for (const p of m.parameters()) torch.scope(() => p.copy_(p.to(dtype)));
  });
}

/** Output and input gradient of layer(x) for a fixed upstream gradient. */
function run(layer: { forward(x: Tensor): Tensor }, x0: Tensor, gOut?: Tensor): { y: Tensor; gx: Tensor } {
  const x = x0.detach().requiresGrad_();
  const y = layer.forward(x);
  y.backward(gOut ?? torch.onesLike(y));
  return { y: y.detach(), gx: x.grad as Tensor };
}

const CONVS: [string, () => Conv2d, number[]][] = [
  ['3x3 pad 1', () => new Conv2d(6, 10, 3, { padding: 1 }), [2, 6, 9, 9]],
  ['3x3 stride 2 pad 1 (Downsample2D)', () => new Conv2d(6, 6, 3, { stride: 2, padding: 1 }), [1, 6, 8, 8]],
  ['1x1 no bias', () => new Conv2d(6, 4, 1, { bias: false }), [2, 6, 5, 7]],
  ['3x3 groups 2', () => new Conv2d(6, 8, 3, { padding: 1, groups: 2 }), [1, 6, 6, 6]],
  ['3x3 stride 2 odd input', () => new Conv2d(4, 4, 3, { stride: 2, padding: 1 }), [1, 4, 7, 7]],
  // Batch 1 and at most 20,480 input values: oneDNN forward and GEMM + col2im backward (frozen.cc).
  ["3x3 on a small batch-1 map (SD's 1280x4x4 route)", () => new Conv2d(32, 24, 3, { padding: 1 }), [1, 32, 4, 4]],
  ['1x1 on a small batch-1 map', () => new Conv2d(16, 8, 1), [1, 16, 4, 4]],
  ['3x3 just over the small-map bound', () => new Conv2d(8, 8, 3, { padding: 1 }), [1, 8, 51, 51]],
];

// Slices of 100 bytes split every test weight into row slices (the path SD's large weights take).
const SLICINGS = [
  ['', 0],
  [', widened in row slices', 100],
] as const;

for (const [sliced, sliceBytes] of SLICINGS)
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (const [name, make, shape] of CONVS) {
      test(`Conv2d ${name} with ${dtype} weights${sliced} equals float32 on the rounded values`, () => {
        frozenSettings.sliceBytes = sliceBytes;
        torch.manualSeed(1);
        torch.scope(() => {
          const conv = make();
          conv.requiresGrad_(false);
          roundThrough(conv, dtype);
          const x = torch.randn(shape);
          const g = torch.randn(run(conv, x).y.shape);
          const ref = run(conv, x, g);
          storeFrozenWeights(conv, dtype);
          assert.equal(conv.get('weight').dtype, dtype);
          const half = run(conv, x, g);
          assert.equal(half.y.dtype, 'float32');
          assert.deepEqual(half.gx.shape, shape);
          assertClose(half.y, ref.y, 'forward', 1e-6);
          assertClose(half.gx, ref.gx, 'input grad', 1e-6);
          conv.dispose();
        });
      });
    }
    test(`Linear (2-D and 3-D input, with and without bias) with ${dtype} weights${sliced} equals float32`, () => {
      frozenSettings.sliceBytes = sliceBytes;
      torch.manualSeed(2);
      torch.scope(() => {
        for (const bias of [true, false]) {
          for (const shape of [
            [5, 12],
            [2, 7, 12],
          ]) {
            const lin = new Linear(12, 9, bias);
            lin.requiresGrad_(false);
            roundThrough(lin, dtype);
            const x = torch.randn(shape);
            const g = torch.randn([...shape.slice(0, -1), 9]);
            const ref = run(lin, x, g);
            storeFrozenWeights(lin, dtype);
            const half = run(lin, x, g);
            assertClose(half.y, ref.y, `forward, bias ${bias} [${shape}]`, 1e-6);
            assertClose(half.gx, ref.gx, `input grad, bias ${bias} [${shape}]`, 1e-6);
            lin.dispose();
          }
        }
      });
    });
  }

test('Embedding stored in fp16 returns float32 rows', () => {
  frozenSettings.sliceBytes = 0;
  torch.scope(() => {
    const emb = new Embedding(20, 6);
    emb.requiresGrad_(false);
    roundThrough(emb, 'float16');
    const ids = torch.tensor([[1, 5, 19]], { dtype: 'int64' });
    const ref = emb.forward(ids);
    storeFrozenWeights(emb, 'float16');
    const rows = emb.forward(ids);
    assert.equal(rows.dtype, 'float32');
    assert.equal(diff(rows, ref).maxAbs, 0);
    emb.dispose();
  });
});

test('storeFrozenWeights refuses a trainable weight, naming it', () => {
  const lin = new Linear(3, 3);
  assert.throws(() => storeFrozenWeights(lin, 'float16'), /weight is trainable/);
  lin.requiresGrad_(false);
  assert.throws(() => storeFrozenWeights(lin, 'float32'), /not a half-precision dtype/);
  lin.dispose();
});

test('tiny SD1.5 UNet with fp16-stored weights: same output and input gradients, checkpointed or not, sliced or not', (t) => {
  const dir = goldenDir(t, 'models/unet/sd15_tiny');
  if (!dir) return;
  const unet = new UNet2DConditionModel(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  unet.loadStateDict(torch.safetensors.load(join(dir, 'weights.safetensors')), { strict: true });
  unet.requiresGrad_(false);
  roundThrough(unet, 'float16');
  const io = torch.safetensors.load(join(dir, 'io.safetensors'));
  const step = (checkpointing: boolean) =>
    torch.scope(() => {
      unet.gradientCheckpointing = checkpointing;
      const sample = (io.get('in.sample') as Tensor).detach().requiresGrad_();
      const ctx = (io.get('in.encoder_hidden_states') as Tensor).detach().requiresGrad_();
      const tape = new CheckpointTape();
      const out = tape.record(() => unet.forward(sample, io.get('in.timesteps') as Tensor, ctx));
      tape.backward(out.square().mean());
      tape.dispose();
      return [out.detach(), sample.grad as Tensor, ctx.grad as Tensor].map((x) => x.keep());
    });
  const ref = step(false);
  const n = storeFrozenWeights(unet, 'float16');
  assert.equal(
    n,
    unet.numParameters() - [...unet.namedParameters()].filter(([k]) => /norm/.test(k)).reduce((a, [, p]) => a + p.numel(), 0),
  );
  for (const [checkpointing, sliceBytes] of [
    [false, 0],
    [true, 0],
    [false, 2048],
  ] as const) {
    frozenSettings.sliceBytes = sliceBytes;
    const half = step(checkpointing);
    const rels = half.map((h, i) => assertClose(h, ref[i], `tensor ${i}`, 1e-5).rel);
    t.diagnostic(
      `checkpointing ${checkpointing}, slices of ${sliceBytes || 'default'} bytes: output, sample grad, context grad rel ${rels.map((r) => r.toExponential(1)).join(', ')}`,
    );
    for (const h of half) h.dispose();
  }
  frozenSettings.sliceBytes = 0;
  for (const r of ref) r.dispose();
  unet.dispose();
});
