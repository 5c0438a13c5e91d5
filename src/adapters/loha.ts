// LoHa (LyCORIS algo=loha): hada_w1_a/w2_a (out, r), hada_w1_b/w2_b (r, in·k·k) — 2-D even for
// convs — or with Tucker w_a (r, out), w_b (r, in), hada_t1/t2 (r, r, k, k). Forward rebuilds ΔW
// every call. network_dropout is ignored unless `honourDropout` (LyCORIS ≤ 2 never applied it).
import type { Module } from '../nn/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { AdapterModule, type AdapterOptions } from './base.ts';
import { lohaDiff } from './functional/loha.ts';
import { normalInit, zerosInit } from './init.ts';
import { resolveAlpha } from './scale.ts';

export interface LohaOptions extends AdapterOptions {
  dim: number;
  alpha?: number | null;
  tucker?: boolean;
}

export class LohaModule extends AdapterModule {
  readonly algo = 'loha' as const;
  readonly dim: number;
  readonly alpha: number;
  readonly scale: number;
  readonly tucker: boolean;

  constructor(loraName: string, target: Module, o: LohaOptions) {
    super(loraName, target, o);
    const { kind, shape, kernel } = this.layer;
    const r = o.dim;
    this.dim = r;
    this.alpha = resolveAlpha(o.alpha, r);
    this.scale = this.alpha / r;
    this.tucker = !!o.tucker && kind === 'conv2d' && kernel !== 1;
    const init = { generator: o.generator, device: this.device };
    const [out, inn] = shape;
    if (this.tucker) {
      this.param('hada_t1', normalInit([r, r, kernel, kernel], 0.1, init));
      this.param('hada_w1_a', normalInit([r, out], 0.1, init));
      this.param('hada_w1_b', normalInit([r, inn], 1, init));
      this.param('hada_t2', normalInit([r, r, kernel, kernel], 0.1, init));
      this.param('hada_w2_a', zerosInit([r, out], init));
      this.param('hada_w2_b', normalInit([r, inn], 1, init));
    } else {
      const cols = inn * kernel * kernel;
      this.param('hada_w1_a', normalInit([out, r], 0.1, init));
      this.param('hada_w1_b', normalInit([r, cols], 1, init));
      this.param('hada_w2_a', zerosInit([out, r], init));
      this.param('hada_w2_b', normalInit([r, cols], 1, init));
    }
    this.buffer('alpha', torch.tensor(this.alpha));
    this.initDora();
  }

  deltaWeight(train = false): Tensor {
    const g = (n: string) => this.get(n);
    const d = lohaDiff(
      {
        w1a: g('hada_w1_a'),
        w1b: g('hada_w1_b'),
        w2a: g('hada_w2_a'),
        w2b: g('hada_w2_b'),
        t1: this.tucker ? g('hada_t1') : undefined,
        t2: this.tucker ? g('hada_t2') : undefined,
      },
      this.layer.shape,
      this.scale,
    );
    return train ? this.dropRows(d) : d;
  }

  protected adapterForward(x: Tensor): Tensor {
    return this.rebuildForward(x, this.deltaWeight(this.training));
  }

  /** LyCORIS scales its scalar, folded into hada_w1_a at save: scaling w1_a is the same ΔW. */
  protected scaleFactors(ratio: number): void {
    this.get('hada_w1_a').mul_(ratio);
  }
}
