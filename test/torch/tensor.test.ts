// The Tensor API: factories, dtypes, shapes, arithmetic, reductions, indexing, in-place ops,
// autograd entry points and the errors people see.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { torch } from '../../src/index.ts';

const arr = (t: torch.Tensor) => t.toArray();

test('tensor() from nested arrays and typed arrays', () => {
  torch.scope(() => {
    const a = torch.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(a.shape, [2, 3]);
    assert.equal(a.dtype, 'float32');
    assert.deepEqual(arr(a), [1, 2, 3, 4, 5, 6]);
    const b = torch.tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] });
    assert.equal(b.dtype, 'float64');
    assert.deepEqual(b.shape, [2, 2]);
    assert.equal(torch.tensor([true, false]).dtype, 'bool');
    assert.equal(torch.tensor([1n, 2n]).dtype, 'int64');
    assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged/);
    assert.throws(() => torch.fromTypedArray(new Float32Array(3), [2, 2]), /12 bytes given for shape \[2, 2\]/);
  });
});

test('every dtype round-trips through data()', () => {
  torch.scope(() => {
    const vals = [0, 1, 2, 3];
    for (const dtype of ['float32', 'float64', 'int64', 'int32', 'int16', 'int8', 'uint8'] as const) {
      const t = torch.tensor(vals, { dtype });
      assert.equal(t.dtype, dtype);
      assert.deepEqual(arr(t), vals, dtype);
    }
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const t = torch.tensor([0.5, -2, 3.25], { dtype });
      assert.equal(t.dtype, dtype);
      assert.ok(t.data() instanceof Uint16Array);
      assert.deepEqual(arr(t), [0.5, -2, 3.25]);
    }
    assert.deepEqual(Array.from(torch.tensor([true, false, true]).data() as Uint8Array), [1, 0, 1]);
    // float16 bits: 1.0 is 0x3c00, bfloat16 1.0 is 0x3f80
    assert.equal(torch.ones([1], { dtype: 'float16' }).data()[0], 0x3c00);
    assert.equal(torch.ones([1], { dtype: 'bfloat16' }).data()[0], 0x3f80);
  });
});

test('shape ops, broadcasting arithmetic, reductions', () => {
  torch.scope(() => {
    const a = torch.arange(6).reshape(2, 3);
    assert.deepEqual(arr(a.t()), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(a.permute(1, 0).shape, [3, 2]);
    assert.deepEqual(a.unsqueeze(0).shape, [1, 2, 3]);
    assert.deepEqual(a.flatten().shape, [6]);
    assert.deepEqual(arr(a.add(torch.tensor([10, 20, 30]))), [10, 21, 32, 13, 24, 35]);
    assert.deepEqual(arr(a.mul(2).sub(1)), [-1, 1, 3, 5, 7, 9]);
    assert.equal(a.sum().item(), 15);
    assert.deepEqual(arr(a.sum(0)), [3, 5, 7]);
    assert.deepEqual(arr(a.mean(1, true)), [1, 4]);
    assert.deepEqual(a.mean(1, true).shape, [2, 1]);
    const [vals, idx] = a.max(1);
    assert.deepEqual(arr(vals), [2, 5]);
    assert.deepEqual(arr(idx), [2, 2]);
    assert.ok(Math.abs(torch.tensor([1, 2, 3, 4]).var().item() - 1.6666666) < 1e-5);
    assert.deepEqual(torch.cat([a, a], 1).shape, [2, 6]);
    assert.deepEqual(
      a.chunk(3, 1).map((t) => t.shape),
      [
        [2, 1],
        [2, 1],
        [2, 1],
      ],
    );
  });
});

test('indexing: select, slices, None, tensor indices', () => {
  torch.scope(() => {
    const a = torch.arange(12).reshape(3, 4);
    assert.deepEqual(arr(a.index(1)), [4, 5, 6, 7]);
    assert.deepEqual(arr(a.index(null, 2)), [2, 6, 10]);
    assert.deepEqual(arr(a.index([0, 2], [1, 4, 2])), [1, 3, 5, 7]);
    assert.deepEqual(arr(a.index(torch.tensor([2n, 0n]))), [8, 9, 10, 11, 0, 1, 2, 3]);
    assert.deepEqual(arr(a.index(null, torch.tensor([3n]))), [3, 7, 11]);
    const mask = a.gt(9);
    assert.deepEqual(arr(a.index(mask)), [10, 11]);
  });
});

test('in-place ops modify the tensor and its views', () => {
  torch.scope(() => {
    const a = torch.zeros([2, 2]);
    const row = a.index(0);
    row.fill_(3);
    a.add_(1).mul_(2);
    assert.deepEqual(arr(a), [8, 8, 2, 2]);
    assert.equal(row.storageId(), a.storageId());
    a.addcmul_(torch.ones([2, 2]), torch.full([2, 2], 0.5), 2);
    assert.deepEqual(arr(a), [9, 9, 3, 3]);
  });
});

test('integer scalars keep integer tensors integral; floats promote', () => {
  torch.scope(() => {
    const i = torch.tensor([1n, 2n]);
    assert.equal(i.mul(3).dtype, 'int64');
    assert.equal(i.mul(1.5).dtype, 'float32');
    assert.deepEqual(arr(i.mul(1.5)), [1.5, 3]);
  });
});

test('to() converts dtype and device; errors name the op and the shapes', () => {
  torch.scope(() => {
    const a = torch.ones([2, 3]);
    assert.equal(a.to('float64').dtype, 'float64');
    assert.equal(a.to({ dtype: 'bfloat16' }).dtype, 'bfloat16');
    assert.equal(a.to('cpu').device, 'cpu');
    assert.throws(() => a.matmul(torch.ones([2, 3])), /aten::matmul\(Float\[2, 3\], Float\[2, 3\]\): .*cannot be multiplied/);
    assert.throws(() => a.add(torch.ones([4])), /aten::add\.Tensor.*size of tensor a \(3\) must match/);
  });
});

test('autograd: backward, grad read/assign, noGrad, detach, retainGrad', () => {
  torch.scope(() => {
    const x = torch.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward();
    assert.deepEqual(arr(x.grad!), [2, 4, 6]);
    x.grad = torch.tensor([7, 8, 9]);
    assert.deepEqual(arr(x.grad!), [7, 8, 9]);
    x.grad = undefined;
    assert.equal(x.grad, undefined);
    assert.throws(() => {
      x.grad = torch.ones([2]);
    }, /does not match tensor shape/);
    const z = torch.noGrad(() => x.mul(2));
    assert.equal(z.requiresGrad, false);
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(x.detach().requiresGrad, false);
    const h = x.mul(3).retainGrad();
    h.sum().backward();
    assert.deepEqual(arr(h.grad!), [1, 1, 1]);
    assert.deepEqual(arr(x.grad!), [3, 3, 3]);
    assert.ok(x.isLeaf && !h.isLeaf);
  });
});

test('autocast runs matmul in bfloat16 on CPU and restores float32 after', () => {
  torch.scope(() => {
    const a = torch.randn([4, 4]);
    const inside = torch.autocast('bfloat16', () => a.matmul(a));
    assert.equal(inside.dtype, 'bfloat16');
    assert.equal(a.matmul(a).dtype, 'float32');
  });
});

test('generic dispatch: any registered op by name, with schema defaults and clear errors', () => {
  torch.scope(() => {
    const x = torch.arange(6, undefined, 1, { dtype: 'float32' }).reshape(2, 3);
    const r = torch.callOp('aten::sum', 'dim_IntList', x, [1], true) as torch.Tensor;
    assert.deepEqual(r.shape, [2, 1]);
    const [q, rr] = torch.callOp('linalg_qr', '', torch.eye(3)) as torch.Tensor[];
    assert.deepEqual(q.shape, [3, 3]);
    assert.deepEqual(rr.shape, [3, 3]);
    assert.ok(torch.hasOp('aten::conv2d'));
    assert.throws(() => torch.callOp('aten::no_such_op', ''), /no operator aten::no_such_op/);
    assert.throws(() => torch.ops.reshape(x, [4.5]), /must be an integer/);
    // int[2] accepts a single int, as in Python
    const y = torch.ops.conv2d(torch.ones([1, 1, 4, 4]), torch.ones([1, 1, 2, 2]), null, 2);
    assert.deepEqual(y.shape, [1, 1, 2, 2]);
  });
});

test('seeded random numbers repeat, and generators are independent streams', () => {
  torch.scope(() => {
    torch.manualSeed(42);
    const a = torch.randn([5]).toArray();
    torch.manualSeed(42);
    assert.deepEqual(torch.randn([5]).toArray(), a);
    const g1 = new torch.Generator({ seed: 7 });
    const g2 = new torch.Generator({ seed: 7 });
    const x = torch.rand([4], { generator: g1 }).toArray();
    torch.randn([100]); // the global stream does not disturb g2
    assert.deepEqual(torch.rand([4], { generator: g2 }).toArray(), x);
    assert.equal(g1.initialSeed(), 7);
    const ri = torch.randint(0, 10, [20], { generator: g1 });
    assert.equal(ri.dtype, 'int64');
    assert.ok(ri.toArray().every((v) => v >= 0 && v < 10));
  });
});

test('cuda', (t) => {
  if (!torch.cuda.isAvailable()) {
    const msg = 'this libtorch has no CUDA (Debian libtorch is CPU-only); build with LIBTORCH_USE_PYTORCH=1 on a GPU machine';
    console.warn(`SKIP cuda: ${msg}`);
    t.skip(msg);
    return;
  }
  torch.scope(() => {
    const a = torch.randn([64, 64]);
    const g = a.cuda();
    assert.equal(g.device, 'cuda:0');
    const diff = g.matmul(g).cpu().sub(a.matmul(a)).abs().max().item();
    assert.ok(diff < 1e-3);
  });
});

test('a seed gives the same tensors in a separate process', async () => {
  const { execFileSync } = await import('node:child_process');
  const code = "import('./src/torch/index.ts').then((t)=>{t.manualSeed(1234);console.log(JSON.stringify(t.randn([6]).toArray()))})";
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: new URL('../..', import.meta.url).pathname,
    encoding: 'utf8',
  });
  torch.manualSeed(1234);
  const here = torch.scope(() => torch.randn([6]).toArray());
  assert.deepEqual(JSON.parse(out.trim()), here);
});

test('RNG state saved and restored replays the same draws (default and explicit generators)', () => {
  torch.scope(() => {
    torch.manualSeed(3);
    torch.randn([10]);
    const state = torch.getRngState();
    const a = torch.randn([5]).toArray();
    torch.randn([7]);
    torch.setRngState(state);
    assert.deepEqual(torch.randn([5]).toArray(), a);
    const g = new torch.Generator({ seed: 11 });
    torch.rand([3], { generator: g });
    const gs = g.getState();
    const b = torch.rand([4], { generator: g }).toArray();
    g.setState(gs);
    assert.deepEqual(torch.rand([4], { generator: g }).toArray(), b);
  });
});
