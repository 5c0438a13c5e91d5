// (IA)³ (LyCORIS algo=ia3): `weight` (out,) / (in,) for Linear, (1, C, 1, 1) for convs, zero-init,
// and the `on_input` flag (0-dim int64). No rank, alpha, dropout or max-norm.
// Bias: LyCORIS ≤ 2.2 trained on output as (Wx + b)·(1 + m·w), scaling the bias, while every
// loader and merge scales only W (and LyCORIS 3's rebuild forward does too). lyco trains the
// weight-only form by default — what users render — and `scaleBias: true` reproduces LyCORIS ≤ 2.2.
import type { Module } from '../nn/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { AdapterModule, type AdapterOptions } from './base.ts';
import { ia3Diff, ia3Forward } from './functional/ia3.ts';
import { zerosInit } from './init.ts';

export interface Ia3Options extends AdapterOptions {
  onInput?: boolean;
  scaleBias?: boolean;
}

export class Ia3Module extends AdapterModule {
  readonly algo = 'ia3' as const;
  readonly onInput: boolean;
  readonly scaleBias: boolean;

  constructor(loraName: string, target: Module, o: Ia3Options = {}) {
    super(loraName, target, { ...o, dropout: 0, rankDropout: 0, dora: false });
    this.onInput = !!o.onInput;
    this.scaleBias = !!o.scaleBias;
    const { kind, inFeatures, outFeatures } = this.layer;
    const n = this.onInput ? inFeatures : outFeatures;
    this.param('weight', zerosInit(kind === 'conv2d' ? [1, n, 1, 1] : [n], { device: this.device }));
    this.buffer('on_input', torch.tensor(this.onInput ? 1 : 0, { dtype: 'int64' }));
  }

  /** iA3 has no scale: ΔW at m = 1 (the multiplier enters in diffWeight/mergedWeight). */
  deltaWeight(): Tensor {
    return ia3Diff(this.targetWeight.float(), this.get('weight'), this.onInput, 1);
  }

  protected adapterForward(x: Tensor): Tensor {
    return ia3Forward(x, (h) => this.callOriginal(h), this.targetBias, this.get('weight'), this.layer, {
      onInput: this.onInput,
      multiplier: this.multiplier,
      scaleBias: this.scaleBias,
    });
  }

  /** Never called: the network skips max-norm for iA3 (as every upstream version does). */
  protected scaleFactors(): void {}

  override applyMaxNorm(): { scaled: boolean; norm: number } {
    return { scaled: false, norm: 0 };
  }
}
