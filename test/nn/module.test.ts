// Module tree: dotted names, state dicts with load reports, dtype moves, freezing, train/eval.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Conv2d, GroupNorm, Linear, Module, ModuleList } from '../../src/nn/index.ts';
import * as torch from '../../src/torch/index.ts';

class Block extends Module {
  readonly proj: Linear;
  readonly convs: ModuleList<Conv2d>;
  readonly norm: GroupNorm;
  constructor() {
    super();
    this.proj = this.module('proj_in', new Linear(4, 8));
    this.convs = this.module('resnets', new ModuleList([new Conv2d(8, 8, 3, { padding: 1 }), new Conv2d(8, 8, 1, { bias: false })]));
    this.norm = this.module('norm', new GroupNorm(2, 8));
  }
}

test('names follow registration paths; state dict and load report', () => {
  const b = new Block();
  const names = [...b.namedParameters()].map(([n]) => n);
  assert.deepEqual(names, [
    'proj_in.weight',
    'proj_in.bias',
    'resnets.0.weight',
    'resnets.0.bias',
    'resnets.1.weight',
    'norm.weight',
    'norm.bias',
  ]);
  assert.equal(b.numParameters(), 4 * 8 + 8 + 8 * 8 * 9 + 8 + 64 + 16);
  torch.scope(() => {
    const sd = new Map([
      ['proj_in.weight', torch.ones([8, 4])],
      ['resnets.0.bias', torch.ones([3])],
      ['extra.weight', torch.ones([1])],
    ]);
    const r = b.loadStateDict(sd);
    assert.deepEqual(r.unexpected, ['extra.weight']);
    assert.deepEqual(r.mismatched, ['resnets.0.bias: [3] vs [8]']);
    assert.ok(r.missing.includes('norm.weight') && !r.missing.includes('proj_in.weight'));
    assert.deepEqual(b.proj.get('weight').toArray(), Array(32).fill(1));
    assert.throws(
      () => b.loadStateDict(sd, { strict: true, source: 'unet.safetensors' }),
      /unet\.safetensors: state dict does not fit: \d+ missing/,
    );
  });
  b.dispose();
});

test('Linear and Conv2d forward match the functional ops; to(), freeze, eval', () => {
  const lin = new Linear(3, 2);
  torch.scope(() => {
    const x = torch.randn([5, 3]);
    const ref = torch.F.linear(x, lin.get('weight'), lin.get('bias'));
    assert.deepEqual(lin.forward(x).toArray(), ref.toArray());
    lin.to({ dtype: 'float64' });
    assert.equal(lin.get('weight').dtype, 'float64');
    assert.ok(lin.get('weight').requiresGrad);
    lin.requiresGrad_(false);
    assert.ok(!lin.get('bias').requiresGrad);
    assert.equal(lin.eval().training, false);
  });
  lin.dispose();
});
