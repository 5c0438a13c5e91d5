// The UNet's down, mid and up blocks (diffusers DownBlock2D, CrossAttnDownBlock2D,
// UNetMidBlock2DCrossAttn, UpBlock2D, CrossAttnUpBlock2D). Each forward is one unit of work
// that gradient checkpointing can replay.
import { Module, ModuleList } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { Downsample2D, ResnetBlock2D, Upsample2D } from './resnet.ts';
import { Transformer2DModel } from './transformer-2d.ts';

export interface BlockOptions {
  inChannels: number;
  outChannels: number;
  tembChannels: number;
  numLayers: number;
  groups: number;
  eps: number;
  /** null for blocks without attention (DownBlock2D / UpBlock2D). */
  attention: {
    heads: number;
    transformerLayers: number;
    crossAttentionDim: number;
    useLinearProjection: boolean;
    upcastAttention: boolean;
  } | null;
}

function transformer(o: BlockOptions, channels: number): Transformer2DModel {
  const a = o.attention!;
  return new Transformer2DModel({
    heads: a.heads,
    dimHead: channels / a.heads,
    inChannels: channels,
    numLayers: a.transformerLayers,
    groups: o.groups,
    crossAttentionDim: a.crossAttentionDim,
    useLinearProjection: a.useLinearProjection,
    upcastAttention: a.upcastAttention,
  });
}

/** DownBlock2D / CrossAttnDownBlock2D: resnets (+ transformers), optional stride-2 conv. */
export class DownBlock extends Module {
  readonly resnets: ModuleList<ResnetBlock2D>;
  readonly attentions?: ModuleList<Transformer2DModel>;
  readonly downsamplers?: ModuleList<Downsample2D>;
  constructor(o: BlockOptions & { addDownsample: boolean; downsamplePadding: number }) {
    super();
    const resnets: ResnetBlock2D[] = [];
    for (let i = 0; i < o.numLayers; i++) {
      const inCh = i === 0 ? o.inChannels : o.outChannels;
      resnets.push(
        new ResnetBlock2D({ inChannels: inCh, outChannels: o.outChannels, tembChannels: o.tembChannels, groups: o.groups, eps: o.eps }),
      );
    }
    this.resnets = this.module('resnets', new ModuleList(resnets));
    if (o.attention) {
      this.attentions = this.module('attentions', new ModuleList(resnets.map(() => transformer(o, o.outChannels))));
    }
    if (o.addDownsample) {
      this.downsamplers = this.module(
        'downsamplers',
        new ModuleList([new Downsample2D(o.outChannels, o.outChannels, o.downsamplePadding)]),
      );
    }
  }
  get numResiduals(): number {
    return this.resnets.length + (this.downsamplers ? 1 : 0);
  }
  /** Returns [hidden, ...skip states] (one per resnet, one after the downsampler). */
  forward(x: Tensor, temb: Tensor, context: Tensor | null): Tensor[] {
    return torch.scope(() => {
      const states: Tensor[] = [];
      let h = x;
      for (let i = 0; i < this.resnets.length; i++) {
        h = this.resnets.at(i).forward(h, temb);
        if (this.attentions) h = this.attentions.at(i).forward(h, context!);
        states.push(h);
      }
      if (this.downsamplers) {
        h = this.downsamplers.at(0).forward(h);
        states.push(h);
      }
      return [h, ...states];
    });
  }
}

/** UNetMidBlock2DCrossAttn: resnet, then (transformer, resnet) pairs. */
export class MidBlockCrossAttn extends Module {
  readonly attentions: ModuleList<Transformer2DModel>;
  readonly resnets: ModuleList<ResnetBlock2D>;
  constructor(o: BlockOptions & { outputScaleFactor: number }) {
    super();
    const ch = o.inChannels;
    const resnet = () =>
      new ResnetBlock2D({
        inChannels: ch,
        outChannels: ch,
        tembChannels: o.tembChannels,
        groups: o.groups,
        eps: o.eps,
        outputScaleFactor: o.outputScaleFactor,
      });
    const resnets = [resnet()];
    const attentions: Transformer2DModel[] = [];
    for (let i = 0; i < o.numLayers; i++) {
      attentions.push(transformer(o, ch));
      resnets.push(resnet());
    }
    this.attentions = this.module('attentions', new ModuleList(attentions));
    this.resnets = this.module('resnets', new ModuleList(resnets));
  }
  forward(x: Tensor, temb: Tensor, context: Tensor): Tensor {
    return torch.scope(() => {
      let h = this.resnets.at(0).forward(x, temb);
      for (let i = 0; i < this.attentions.length; i++) {
        h = this.attentions.at(i).forward(h, context);
        h = this.resnets.at(i + 1).forward(h, temb);
      }
      return h;
    });
  }
}

/** UpBlock2D / CrossAttnUpBlock2D: each resnet takes the hidden state ++ one skip state. */
export class UpBlock extends Module {
  readonly resnets: ModuleList<ResnetBlock2D>;
  readonly attentions?: ModuleList<Transformer2DModel>;
  readonly upsamplers?: ModuleList<Upsample2D>;
  constructor(o: BlockOptions & { prevOutputChannels: number; addUpsample: boolean }) {
    super();
    const resnets: ResnetBlock2D[] = [];
    for (let i = 0; i < o.numLayers; i++) {
      const skip = i === o.numLayers - 1 ? o.inChannels : o.outChannels;
      const inCh = i === 0 ? o.prevOutputChannels : o.outChannels;
      resnets.push(
        new ResnetBlock2D({
          inChannels: inCh + skip,
          outChannels: o.outChannels,
          tembChannels: o.tembChannels,
          groups: o.groups,
          eps: o.eps,
        }),
      );
    }
    this.resnets = this.module('resnets', new ModuleList(resnets));
    if (o.attention) {
      this.attentions = this.module('attentions', new ModuleList(resnets.map(() => transformer(o, o.outChannels))));
    }
    if (o.addUpsample) this.upsamplers = this.module('upsamplers', new ModuleList([new Upsample2D(o.outChannels, o.outChannels)]));
  }
  /** skips: this block's skip states in the order they were made (the last is used first). */
  forward(x: Tensor, skips: Tensor[], temb: Tensor, context: Tensor | null, upsampleSize?: number[]): Tensor {
    return torch.scope(() => {
      let h = x;
      for (let i = 0; i < this.resnets.length; i++) {
        h = torch.cat([h, skips[skips.length - 1 - i]], 1);
        h = this.resnets.at(i).forward(h, temb);
        if (this.attentions) h = this.attentions.at(i).forward(h, context!);
      }
      if (this.upsamplers) h = this.upsamplers.at(0).forward(h, upsampleSize);
      return h;
    });
  }
}
