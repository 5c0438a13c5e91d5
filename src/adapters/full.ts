// Full / native fine-tuning (LyCORIS algo=full): `diff` (W's shape) and `diff_b` (bias) deltas,
// zero-init, no alpha; loaders apply W + m·diff, b + m·diff_b. Also the form `lyco convert`
// writes for loaders without an iA3 adapter (ComfyUI).
import type { Module } from '../nn/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { AdapterModule, type AdapterOptions } from './base.ts';
import { zerosInit } from './init.ts';
import { applyWeight } from './layer.ts';

export class FullModule extends AdapterModule {
  readonly algo = 'full' as const;
  readonly hasBias: boolean;

  constructor(loraName: string, target: Module, o: AdapterOptions & { bias?: boolean } = {}) {
    super(loraName, target, { ...o, dora: false });
    this.hasBias = (o.bias ?? true) && (target as unknown as { hasBias?: boolean }).hasBias !== false;
    this.param('diff', zerosInit(this.layer.shape, { device: this.device }));
    if (this.hasBias) this.param('diff_b', zerosInit([this.layer.outFeatures], { device: this.device }));
  }

  deltaWeight(): Tensor {
    return this.get('diff');
  }

  protected adapterForward(x: Tensor): Tensor {
    return torch.scope(() => {
      const m = this.multiplier;
      const dtype = this.computeDtype(x);
      const b = this.hasBias ? this.get('diff_b').mul(m).to(dtype) : undefined;
      return this.callOriginal(x).add(applyWeight(x, this.get('diff').mul(m).to(dtype), this.layer, b));
    });
  }

  protected scaleFactors(ratio: number): void {
    this.get('diff').mul_(ratio);
  }
}
