// DyLoRA: a LoRA whose rank is trained in blocks of `blockSize` (kohya `unit`). Stored as plain
// lora_down (r, in[, k, k]) / lora_up (out, r[, 1, 1]) + alpha, so files load as LoRA anywhere.
// Training rule per step (one block index b drawn uniformly):
//  - 'lycoris' (algo=dylora, LyCORIS 2/3): blocks 0..b, earlier ones frozen, scale alpha/(b+1),
//    times the multiplier;
//  - 'kohya' (networks.dylora): all r ranks, only block b trainable, scale (alpha/r)·sqrt(r/((b+1)·unit)),
//    multiplier and dropouts not applied.
// Merge/extract/inspect use the full rank with scale alpha/r, as A1111 and ComfyUI render the file.
import type { Module } from '../nn/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { AdapterModule, type AdapterOptions } from './base.ts';
import { dyloraKohyaScale } from './functional/dylora.ts';
import { loconDiff } from './functional/locon.ts';
import { kaimingSqrt5, zerosInit } from './init.ts';
import { applyWeight } from './layer.ts';
import { resolveAlpha } from './scale.ts';

export interface DyloraOptions extends AdapterOptions {
  dim: number;
  alpha?: number | null;
  blockSize?: number;
  rule?: 'lycoris' | 'kohya';
}

export class DyloraModule extends AdapterModule {
  readonly algo = 'dylora' as const;
  readonly dim: number;
  readonly alpha: number;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly rule: 'lycoris' | 'kohya';

  constructor(loraName: string, target: Module, o: DyloraOptions) {
    super(loraName, target, { ...o, dora: false });
    const bs = o.blockSize ?? 1;
    if (o.dim % bs !== 0) throw new Error(`${loraName}: DyLoRA dim ${o.dim} is not a multiple of block size ${bs}`);
    this.dim = o.dim;
    this.alpha = resolveAlpha(o.alpha, o.dim);
    this.blockSize = bs;
    this.blockCount = o.dim / bs;
    this.rule = o.rule ?? 'lycoris';
    const { kind, shape, kernel } = this.layer;
    const init = { generator: o.generator, device: this.device };
    const r = o.dim;
    // Each rank row is its own kaiming draw in kohya (fan_in = in·k·k): the same bound as one (r, in, k, k) draw.
    this.param('lora_down.weight', kaimingSqrt5(kind === 'linear' ? [r, shape[1]] : [r, shape[1], kernel, kernel], init));
    this.param('lora_up.weight', zerosInit(kind === 'linear' ? [shape[0], r] : [shape[0], r, 1, 1], init));
    this.buffer('alpha', torch.tensor(this.alpha));
  }

  deltaWeight(): Tensor {
    return loconDiff({ up: this.get('lora_up.weight'), down: this.get('lora_down.weight') }, this.layer.shape, this.alpha / this.dim);
  }

  protected adapterForward(x: Tensor): Tensor {
    const b = this.training ? Math.min(this.blockCount - 1, Math.floor(this.draw() * this.blockCount)) : this.blockCount - 1;
    return this.forwardWithBlock(x, b);
  }

  /** The training forward for a given block index b (0-based). */
  forwardWithBlock(x: Tensor, b: number): Tensor {
    return torch.scope(() => {
      const bs = this.blockSize;
      const up = this.get('lora_up.weight').reshape(this.layer.shape[0], this.dim);
      const down = this.get('lora_down.weight').reshape(this.dim, -1);
      const parts = (t: Tensor, dim: number, from: number, to: number) => {
        const pieces: Tensor[] = [];
        if (from > 0) pieces.push(t.narrow(dim, 0, from).detach());
        pieces.push(t.narrow(dim, from, to - from));
        if (this.rule === 'kohya' && to < this.dim) pieces.push(t.narrow(dim, to, this.dim - to).detach());
        return torch.cat(pieces, dim);
      };
      const lo = b * bs;
      const hi = lo + bs;
      const u = parts(up, 1, lo, hi);
      const d = parts(down, 0, lo, hi);
      const scale = this.rule === 'kohya' ? dyloraKohyaScale(this.alpha, this.dim, lo, bs) : (this.alpha / (b + 1)) * this.multiplier;
      const delta = u.mm(d).mul(scale).reshape(this.layer.shape);
      return this.callOriginal(x).add(applyWeight(x, delta.to(this.computeDtype(x)), this.layer));
    });
  }

  /** No max-norm for DyLoRA (kohya and LyCORIS disable it). */
  protected scaleFactors(): void {}

  override applyMaxNorm(): { scaled: boolean; norm: number } {
    return { scaled: false, norm: 0 };
  }
}
