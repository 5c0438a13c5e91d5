// LoKr (LyCORIS algo=lokr): ΔW = scale·kron(W1, W2), W1 (a, c) = lokr_w1 | lokr_w1_a·lokr_w1_b,
// W2 (b, d[, k, k]) = lokr_w2 | lokr_w2_a·lokr_w2_b | tucker(lokr_t2, ...); layout by lokrLayout.
// When both factors are full, LyCORIS overwrites alpha with dim: scale 1, stored alpha = dim — so
// with the guide's preset (dim 1024/alpha 1024, conv 512/512) alpha is silently ignored.
import type { Module } from '../nn/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { AdapterModule, type AdapterOptions } from './base.ts';
import { type LokrLayout, type LokrLayoutOptions, lokrApply, lokrDiff, lokrFactors, lokrLayout, lokrWeights } from './functional/lokr.ts';
import { kaimingSqrt5, zerosInit } from './init.ts';
import { resolveAlpha } from './scale.ts';

export interface LokrOptions extends AdapterOptions, LokrLayoutOptions {
  dim: number;
  alpha?: number | null;
}

const KEYS = ['lokr_w1', 'lokr_w1_a', 'lokr_w1_b', 'lokr_w2', 'lokr_w2_a', 'lokr_w2_b', 'lokr_t2'] as const;

export class LokrModule extends AdapterModule {
  readonly algo = 'lokr' as const;
  readonly dim: number;
  /** The alpha stored in the file (dim when both factors are full). */
  readonly alpha: number;
  readonly scale: number;
  readonly layout: LokrLayout;
  /** True when the user's alpha was replaced by dim (full W1 and W2). */
  readonly alphaForced: boolean;
  /**
   * Forward applies the factors one after the other (lokrApply) instead of building ΔW. Not for
   * DoRA (it needs the merged weight), grouped convs (they do not split by channel), or layers
   * under ~64k weights (tiny models), where one kron + one product costs less than the factored calls.
   */
  private readonly factored: boolean;

  constructor(loraName: string, target: Module, o: LokrOptions) {
    super(loraName, target, o);
    this.dim = o.dim;
    this.layout = lokrLayout(this.layer.shape, o.dim, o);
    const fullFull = this.layout.useW1 && this.layout.useW2;
    const alpha = resolveAlpha(o.alpha, o.dim);
    this.alphaForced = fullFull && alpha !== o.dim;
    this.alpha = fullFull ? o.dim : alpha;
    this.scale = this.alpha / o.dim;
    const init = { generator: o.generator, device: this.device };
    const s = this.layout.shapes;
    // LyCORIS zero-init: the big factor's last piece (w2, or w2_b) starts at 0 so ΔW₀ = 0.
    for (const k of KEYS) {
      if (!s[k]) continue;
      const zero = k === 'lokr_w2' || k === 'lokr_w2_b';
      this.param(k, zero ? zerosInit(s[k], init) : kaimingSqrt5(s[k], init));
    }
    this.buffer('alpha', torch.tensor(this.alpha));
    this.initDora();
    const size = this.layer.shape.reduce((p, k) => p * k, 1);
    this.factored = !this.doraAxis && this.layer.groups === 1 && size >= 65536;
  }

  private weights() {
    return lokrWeights((k) => (this.layout.shapes[k] ? this.get(k) : undefined));
  }

  deltaWeight(train = false): Tensor {
    const d = lokrDiff(this.weights(), this.layer.shape, this.scale);
    return train ? this.dropRows(d) : d;
  }

  protected adapterForward(x: Tensor): Tensor {
    return this.factored ? this.factoredForward(x) : this.rebuildForward(x, this.deltaWeight(this.training));
  }

  /** org(x) + m·scale·kron(W1, W2) x applied factor by factor (functional/lokr.ts lokrApply). */
  protected factoredForward(x: Tensor): Tensor {
    return torch.scope(() => {
      const [w1, w2] = lokrFactors(this.weights(), this.layer.shape);
      const dtype = this.computeDtype(x);
      const out = lokrApply(x, w1.to(dtype), w2.to(dtype), this.layer).mul(this.scale * this.multiplier);
      return this.finishDelta(x, this.dropOutputs(out));
    });
  }

  /** LyCORIS: every stored factor × ratio^(1/k), k = number of factor tensors. */
  protected scaleFactors(ratio: number): void {
    const present = KEYS.filter((k) => this.layout.shapes[k]);
    const f = ratio ** (1 / present.length);
    for (const k of present) this.get(k).mul_(f);
  }
}
