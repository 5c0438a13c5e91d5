// diffusers ResnetBlock2D, Downsample2D and Upsample2D: shared by the UNet and the VAE.
import { Conv2d, GroupNorm, Linear, Module } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';

const { F } = torch;

export interface ResnetOptions {
  inChannels: number;
  outChannels: number;
  /** Width of the time embedding; null in the VAE (no `time_emb_proj`). */
  tembChannels: number | null;
  groups: number;
  eps: number;
  outputScaleFactor?: number;
}

/** norm1 → SiLU → conv1 (+ time_emb_proj(SiLU(temb))) → norm2 → SiLU → conv2, plus the shortcut. */
export class ResnetBlock2D extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly time_emb_proj?: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly conv_shortcut?: Conv2d;
  readonly outputScaleFactor: number;
  constructor(o: ResnetOptions) {
    super();
    this.outputScaleFactor = o.outputScaleFactor ?? 1;
    this.norm1 = this.module('norm1', new GroupNorm(o.groups, o.inChannels, o.eps));
    this.conv1 = this.module('conv1', new Conv2d(o.inChannels, o.outChannels, 3, { padding: 1 }));
    if (o.tembChannels !== null) this.time_emb_proj = this.module('time_emb_proj', new Linear(o.tembChannels, o.outChannels));
    this.norm2 = this.module('norm2', new GroupNorm(o.groups, o.outChannels, o.eps));
    this.conv2 = this.module('conv2', new Conv2d(o.outChannels, o.outChannels, 3, { padding: 1 }));
    // diffusers' use_in_shortcut: a 1x1 projection whenever the width changes.
    if (o.inChannels !== o.outChannels) this.conv_shortcut = this.module('conv_shortcut', new Conv2d(o.inChannels, o.outChannels, 1));
  }
  forward(x: Tensor, temb: Tensor | null): Tensor {
    return torch.scope(() => {
      let h = this.conv1.forward(F.silu(this.norm1.forward(x)));
      if (this.time_emb_proj && temb) {
        const t = this.time_emb_proj.forward(F.silu(temb));
        h = h.add(t.reshape(t.shape[0], t.shape[1], 1, 1));
      }
      h = this.conv2.forward(F.silu(this.norm2.forward(h)));
      const skip = this.conv_shortcut ? this.conv_shortcut.forward(x) : x;
      const out = skip.add(h);
      return this.outputScaleFactor === 1 ? out : out.div(this.outputScaleFactor);
    });
  }
}

/** Stride-2 3x3 conv. padding 0 (VAE) pads right/bottom by one first, as LDM did. */
export class Downsample2D extends Module {
  readonly conv: Conv2d;
  constructor(
    channels: number,
    outChannels: number,
    readonly padding: number,
  ) {
    super();
    this.conv = this.module('conv', new Conv2d(channels, outChannels, 3, { stride: 2, padding }));
  }
  forward(x: Tensor): Tensor {
    if (this.padding !== 0) return this.conv.forward(x);
    return torch.scope(() => this.conv.forward(F.pad(x, [0, 1, 0, 1])));
  }
}

/** Nearest ×2 (or to `size` when the skip connection has odd size), then a 3x3 conv. */
export class Upsample2D extends Module {
  readonly conv: Conv2d;
  constructor(channels: number, outChannels: number) {
    super();
    this.conv = this.module('conv', new Conv2d(channels, outChannels, 3, { padding: 1 }));
  }
  forward(x: Tensor, size?: number[]): Tensor {
    return torch.scope(() => {
      // Nearest upsampling has no bfloat16 kernel in older torch: diffusers goes through float32.
      const dtype = x.dtype;
      const xin = dtype === 'bfloat16' ? x.to('float32') : x;
      let up = size ? F.interpolate(xin, { size, mode: 'nearest' }) : F.interpolate(xin, { scaleFactor: 2, mode: 'nearest' });
      if (dtype === 'bfloat16') up = up.to('bfloat16');
      return this.conv.forward(up);
    });
  }
}
