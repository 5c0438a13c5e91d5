// diffusers Transformer2DModel: GroupNorm, proj_in (1x1 conv for SD1, Linear for SD2/SDXL),
// a stack of BasicTransformerBlocks over the H·W tokens, proj_out, plus the input.
import { Conv2d, GroupNorm, Linear, Module, ModuleList } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { BasicTransformerBlock } from './attention.ts';

export interface Transformer2DOptions {
  heads: number;
  dimHead: number;
  inChannels: number;
  numLayers: number;
  groups: number;
  crossAttentionDim: number;
  useLinearProjection: boolean;
  upcastAttention: boolean;
}

export class Transformer2DModel extends Module {
  readonly norm: GroupNorm;
  readonly proj_in: Linear | Conv2d;
  readonly transformer_blocks: ModuleList<BasicTransformerBlock>;
  readonly proj_out: Linear | Conv2d;
  readonly linear: boolean;
  constructor(o: Transformer2DOptions) {
    super();
    const inner = o.heads * o.dimHead;
    this.linear = o.useLinearProjection;
    this.norm = this.module('norm', new GroupNorm(o.groups, o.inChannels, 1e-6));
    this.proj_in = this.module('proj_in', this.linear ? new Linear(o.inChannels, inner) : new Conv2d(o.inChannels, inner, 1));
    const blocks: BasicTransformerBlock[] = [];
    for (let i = 0; i < o.numLayers; i++) {
      blocks.push(
        new BasicTransformerBlock({
          dim: inner,
          heads: o.heads,
          dimHead: o.dimHead,
          crossAttentionDim: o.crossAttentionDim,
          upcastAttention: o.upcastAttention,
        }),
      );
    }
    this.transformer_blocks = this.module('transformer_blocks', new ModuleList(blocks));
    this.proj_out = this.module('proj_out', this.linear ? new Linear(inner, o.inChannels) : new Conv2d(inner, o.inChannels, 1));
  }

  forward(x: Tensor, context: Tensor): Tensor {
    return torch.scope(() => {
      const [b, c, h, w] = x.shape;
      let hs = this.norm.forward(x);
      if (this.linear) {
        hs = this.proj_in.forward(hs.permute(0, 2, 3, 1).reshape(b, h * w, c));
      } else {
        hs = this.proj_in.forward(hs);
        hs = hs.permute(0, 2, 3, 1).reshape(b, h * w, hs.shape[1]);
      }
      for (const block of this.transformer_blocks) hs = block.forward(hs, context);
      const inner = hs.shape[2];
      if (this.linear) {
        hs = this.proj_out.forward(hs).reshape(b, h, w, c).permute(0, 3, 1, 2);
      } else {
        hs = this.proj_out.forward(hs.reshape(b, h, w, inner).permute(0, 3, 1, 2).contiguous());
      }
      return hs.add(x);
    });
  }
}
