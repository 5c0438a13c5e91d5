import { test } from 'node:test';
import { LokrModule, type LokrOptions } from '../../src/adapters/lokr.ts';
import { Conv2d, Linear, type Module } from '../../src/nn/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { assertClose } from '../models/compare.ts';

// Layers here are small, so the module is told to take the factored path whatever their size.
class Factored extends LokrModule {
  protected override adapterForward(x: Tensor): Tensor {
    return this.factoredForward(x);
  }
}

class Rebuilt extends LokrModule {
  // The reference: org(x) + F(x, m·ΔW) with ΔW built, as before the factored forward.
  protected override adapterForward(x: Tensor): Tensor {
    return this.rebuildForward(x, this.deltaWeight(this.training));
  }
}

const CASES: [string, () => Module, number[], LokrOptions][] = [
  ['linear, full W1 and W2 (guide preset)', () => new Linear(48, 40), [2, 5, 48], { dim: 1024, alpha: 1024, factor: -1 }],
  ['linear, low-rank W2', () => new Linear(64, 64), [3, 64], { dim: 2, alpha: 1, factor: 4 }],
  ['linear, both decomposed', () => new Linear(64, 96), [2, 7, 64], { dim: 2, alpha: 2, factor: -1, decomposeBoth: true }],
  ['conv 3x3, full factors', () => new Conv2d(24, 32, 3, { padding: 1 }), [2, 24, 6, 6], { dim: 512, alpha: 512, factor: -1 }],
  [
    'conv 3x3 stride 2, low-rank W2',
    () => new Conv2d(32, 32, 3, { stride: 2, padding: 1 }),
    [1, 32, 7, 7],
    { dim: 2, alpha: 1, factor: 4 },
  ],
  ['conv 3x3, tucker', () => new Conv2d(32, 48, 3, { padding: 1 }), [1, 32, 5, 5], { dim: 2, alpha: 1, factor: 4, tucker: true }],
  ['conv 1x1', () => new Conv2d(40, 24, 1), [2, 40, 4, 4], { dim: 1024, factor: -1 }],
  [
    'linear, rank dropout 0.5 (scaled)',
    () => new Linear(32, 48),
    [4, 32],
    { dim: 1024, factor: -1, rankDropout: 0.5, rankDropoutScale: true },
  ],
  [
    'conv, network dropout 0.3 and rank dropout',
    () => new Conv2d(16, 16, 3, { padding: 1 }),
    [1, 16, 5, 5],
    { dim: 4, factor: 4, dropout: 0.3, rankDropout: 0.25 },
  ],
];

for (const [name, make, shape, opts] of CASES) {
  test(`LoKr factored forward equals the rebuilt ΔW: ${name}`, () => {
    torch.manualSeed(3);
    torch.scope(() => {
      const target = make();
      target.requiresGrad_(false);
      const fast = new Factored('lokr_test', target, { ...opts, multiplier: 0.8 });
      const slow = new Rebuilt('lokr_test', target, { ...opts, multiplier: 0.8 });
      // The same non-zero factors in both (w2 starts at zero).
      torch.noGrad(() => {
        for (const [n, p] of fast.namedParameters()) {
          torch.scope(() => p.copy_(torch.randn(p.shape).mul(0.3)));
          slow.get(n).copy_(p);
        }
      });
      const x = torch.randn(shape);
      const run = (m: LokrModule) => {
        torch.manualSeed(11); // rank and network dropout draw the same masks
        const xi = x.detach().requiresGrad_();
        const y = m.forward(xi);
        y.square().sum().backward();
        return [y.detach(), xi.grad as Tensor, ...m.parameters().map((p) => p.grad as Tensor)];
      };
      const a = run(fast);
      const b = run(slow);
      for (const [i, t] of a.entries()) assertClose(t, b[i], `tensor ${i}`, 1e-5);
    });
  });
}
