// LoRA / LoCon (kohya networks.lora, LyCORIS algo=lora|locon): lora_down (r, in[, k, k]),
// lora_up (out, r[, 1, 1]), optional Tucker lora_mid (r, r, k, k), alpha; ΔW = up·down·alpha/r.
// Forward is the low-rank path W⊛x + b + m·scale·up(down(x)) (kohya and LyCORIS 1.8; equal to
// LyCORIS 3's rebuild path within float32 rounding); with DoRA it rebuilds the weight instead.
import type { Module } from '../nn/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { AdapterModule, type AdapterOptions } from './base.ts';
import { loconDiff, loconLowRank } from './functional/locon.ts';
import { kaimingSqrt5, zerosInit } from './init.ts';
import { resolveAlpha } from './scale.ts';

export interface LoconOptions extends AdapterOptions {
  dim: number;
  alpha?: number | null;
  /** Conv k×k as lora_down 1×1 + lora_mid k×k (LyCORIS use_tucker). */
  tucker?: boolean;
  /**
   * Dropout semantics: 'kohya' = network_dropout on down(x), per-sample rank mask rescaled by
   * 1/(1−p); 'lycoris' = dropout on the module output, batch-shared rank mask (LyCORIS 3 bypass).
   */
  style?: 'kohya' | 'lycoris';
}

export class LoconModule extends AdapterModule {
  readonly algo = 'locon' as const;
  readonly dim: number;
  readonly alpha: number;
  readonly scale: number;
  readonly tucker: boolean;
  readonly style: 'kohya' | 'lycoris';

  constructor(loraName: string, target: Module, o: LoconOptions) {
    super(loraName, target, o);
    const { kind, shape, kernel } = this.layer;
    const r = o.dim;
    this.dim = r;
    this.alpha = resolveAlpha(o.alpha, r);
    this.scale = this.alpha / r;
    this.style = o.style ?? 'kohya';
    this.tucker = !!o.tucker && kind === 'conv2d' && kernel !== 1;
    const init = { generator: o.generator, device: this.device };
    const [out, inn] = shape;
    if (kind === 'linear') {
      this.param('lora_down.weight', kaimingSqrt5([r, inn], init));
      this.param('lora_up.weight', zerosInit([out, r], init));
    } else if (this.tucker) {
      this.param('lora_down.weight', kaimingSqrt5([r, inn, 1, 1], init));
      this.param('lora_mid.weight', kaimingSqrt5([r, r, kernel, kernel], init));
      this.param('lora_up.weight', zerosInit([out, r, 1, 1], init));
    } else {
      this.param('lora_down.weight', kaimingSqrt5([r, inn, kernel, kernel], init));
      this.param('lora_up.weight', zerosInit([out, r, 1, 1], init));
    }
    this.buffer('alpha', torch.tensor(this.alpha));
    this.initDora();
  }

  private weights() {
    return {
      up: this.get('lora_up.weight'),
      down: this.get('lora_down.weight'),
      mid: this.tucker ? this.get('lora_mid.weight') : undefined,
    };
  }

  deltaWeight(train = false): Tensor {
    const d = loconDiff(this.weights(), this.layer.shape, this.scale);
    return train ? this.dropRows(d) : d;
  }

  protected adapterForward(x: Tensor): Tensor {
    if (this.doraAxis) return this.rebuildForward(x, this.deltaWeight(this.training));
    return torch.scope(() => {
      const train = this.training;
      let scale = this.scale * this.multiplier;
      const onRank = (h: Tensor): Tensor => {
        if (!train) return h;
        if (this.style === 'kohya' && this.dropout > 0) h = torch.F.dropout(h, this.dropout, true, this.generator);
        if (this.rankDropout > 0) {
          const r = this.dim;
          const rankDim = this.layer.kind === 'conv2d' ? 1 : h.ndim - 1;
          if (this.style === 'kohya') {
            // sd-scripts: a mask per sample over the r channels, output rescaled by 1/(1−p).
            const mask = torch.rand([h.shape[0], r], { generator: this.generator }).gt(this.rankDropout).to(h.dtype);
            const view = rankDim === 1 && h.ndim === 4 ? mask.reshape(h.shape[0], r, 1, 1) : h.ndim === 3 ? mask.unsqueeze(1) : mask;
            h = h.mul(view);
            scale /= 1 - this.rankDropout;
          } else {
            let keep = torch.rand([r], { generator: this.generator }).gt(this.rankDropout).to(h.dtype);
            if (this.rankDropoutScale) keep = keep.div(keep.mean().clamp(1e-12));
            h = h.mul(rankDim === 1 ? keep.reshape(1, r, 1, 1) : keep);
          }
        }
        return h;
      };
      let delta = loconLowRank(x, this.weights(), this.layer, onRank).mul(scale);
      if (train && this.style === 'lycoris' && this.dropout > 0) delta = torch.F.dropout(delta, this.dropout, true, this.generator);
      return this.callOriginal(x).add(delta);
    });
  }

  /** kohya: up and down × √ratio. (LyCORIS scales its scalar, folded into lora_up: same ΔW.) */
  protected scaleFactors(ratio: number): void {
    const s = Math.sqrt(ratio);
    this.get('lora_up.weight').mul_(s);
    this.get('lora_down.weight').mul_(s);
  }
}
