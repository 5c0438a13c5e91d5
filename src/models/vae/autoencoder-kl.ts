// diffusers AutoencoderKL: Encoder (image → moments), Decoder (latents → image), quant convs.
// Latents fed to the UNet are posterior samples times `scaling_factor` (SD1/2 0.18215, SDXL 0.13025).
import { Conv2d, GroupNorm, Module, ModuleList } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { Attention } from '../unet/attention.ts';
import { Downsample2D, ResnetBlock2D, Upsample2D } from '../unet/resnet.ts';
import { DiagonalGaussianDistribution } from './distribution.ts';

export interface AutoencoderKLConfig {
  in_channels: number;
  out_channels: number;
  down_block_types: string[];
  up_block_types: string[];
  block_out_channels: number[];
  layers_per_block: number;
  latent_channels: number;
  norm_num_groups: number;
  scaling_factor?: number;
  act_fn?: string;
  [key: string]: unknown;
}

const EPS = 1e-6;

/** UNetMidBlock2D as the VAE uses it: resnet, single-head spatial attention, resnet. */
export class VaeMidBlock extends Module {
  readonly attentions: ModuleList<Attention>;
  readonly resnets: ModuleList<ResnetBlock2D>;
  constructor(ch: number, groups: number) {
    super();
    const resnet = () => new ResnetBlock2D({ inChannels: ch, outChannels: ch, tembChannels: null, groups, eps: EPS });
    this.attentions = this.module(
      'attentions',
      new ModuleList([
        new Attention({
          queryDim: ch,
          crossAttentionDim: null,
          heads: 1,
          dimHead: ch,
          bias: true,
          upcastAttention: true,
          groupNorm: { groups, eps: EPS },
        }),
      ]),
    );
    this.resnets = this.module('resnets', new ModuleList([resnet(), resnet()]));
  }
  forward(x: Tensor): Tensor {
    return torch.scope(() => this.resnets.at(1).forward(this.attentions.at(0).forward(this.resnets.at(0).forward(x, null)), null));
  }
}

/** DownEncoderBlock2D / UpDecoderBlock2D: resnets without time embedding plus a resampler. */
class ResampleBlock extends Module {
  readonly resnets: ModuleList<ResnetBlock2D>;
  readonly downsamplers?: ModuleList<Downsample2D>;
  readonly upsamplers?: ModuleList<Upsample2D>;
  constructor(inCh: number, outCh: number, numLayers: number, groups: number, resample: 'down' | 'up' | null) {
    super();
    const resnets: ResnetBlock2D[] = [];
    for (let i = 0; i < numLayers; i++) {
      resnets.push(new ResnetBlock2D({ inChannels: i === 0 ? inCh : outCh, outChannels: outCh, tembChannels: null, groups, eps: EPS }));
    }
    this.resnets = this.module('resnets', new ModuleList(resnets));
    if (resample === 'down') this.downsamplers = this.module('downsamplers', new ModuleList([new Downsample2D(outCh, outCh, 0)]));
    if (resample === 'up') this.upsamplers = this.module('upsamplers', new ModuleList([new Upsample2D(outCh, outCh)]));
  }
  forward(x: Tensor): Tensor {
    return torch.scope(() => {
      let h = x;
      for (const r of this.resnets) h = r.forward(h, null);
      if (this.downsamplers) h = this.downsamplers.at(0).forward(h);
      if (this.upsamplers) h = this.upsamplers.at(0).forward(h);
      return h;
    });
  }
}

function checkTypes(types: string[], want: string): void {
  for (const t of types) if (t !== want) throw new Error(`VAE config: block type '${t}' is not supported (${want} only)`);
}

export class Encoder extends Module {
  readonly conv_in: Conv2d;
  readonly down_blocks: ModuleList<ResampleBlock>;
  readonly mid_block: VaeMidBlock;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  constructor(c: AutoencoderKLConfig) {
    super();
    checkTypes(c.down_block_types, 'DownEncoderBlock2D');
    const boc = c.block_out_channels;
    const g = c.norm_num_groups;
    this.conv_in = this.module('conv_in', new Conv2d(c.in_channels, boc[0], 3, { padding: 1 }));
    this.down_blocks = this.module(
      'down_blocks',
      new ModuleList(
        boc.map((ch, i) => new ResampleBlock(i === 0 ? boc[0] : boc[i - 1], ch, c.layers_per_block, g, i < boc.length - 1 ? 'down' : null)),
      ),
    );
    const top = boc[boc.length - 1];
    this.mid_block = this.module('mid_block', new VaeMidBlock(top, g));
    this.conv_norm_out = this.module('conv_norm_out', new GroupNorm(g, top, EPS));
    this.conv_out = this.module('conv_out', new Conv2d(top, 2 * c.latent_channels, 3, { padding: 1 }));
  }
  forward(x: Tensor): Tensor {
    return torch.scope(() => {
      let h = this.conv_in.forward(x);
      for (const b of this.down_blocks) h = b.forward(h);
      h = this.mid_block.forward(h);
      return this.conv_out.forward(torch.F.silu(this.conv_norm_out.forward(h)));
    });
  }
}

export class Decoder extends Module {
  readonly conv_in: Conv2d;
  readonly mid_block: VaeMidBlock;
  readonly up_blocks: ModuleList<ResampleBlock>;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  constructor(c: AutoencoderKLConfig) {
    super();
    checkTypes(c.up_block_types, 'UpDecoderBlock2D');
    const rev = [...c.block_out_channels].reverse();
    const g = c.norm_num_groups;
    this.conv_in = this.module('conv_in', new Conv2d(c.latent_channels, rev[0], 3, { padding: 1 }));
    this.mid_block = this.module('mid_block', new VaeMidBlock(rev[0], g));
    this.up_blocks = this.module(
      'up_blocks',
      new ModuleList(
        rev.map(
          (ch, i) => new ResampleBlock(i === 0 ? rev[0] : rev[i - 1], ch, c.layers_per_block + 1, g, i < rev.length - 1 ? 'up' : null),
        ),
      ),
    );
    const bottom = rev[rev.length - 1];
    this.conv_norm_out = this.module('conv_norm_out', new GroupNorm(g, bottom, EPS));
    this.conv_out = this.module('conv_out', new Conv2d(bottom, c.out_channels, 3, { padding: 1 }));
  }
  forward(z: Tensor): Tensor {
    return torch.scope(() => {
      let h = this.mid_block.forward(this.conv_in.forward(z));
      for (const b of this.up_blocks) h = b.forward(h);
      return this.conv_out.forward(torch.F.silu(this.conv_norm_out.forward(h)));
    });
  }
}

export class AutoencoderKL extends Module {
  readonly config: AutoencoderKLConfig;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly quant_conv: Conv2d;
  readonly post_quant_conv: Conv2d;
  constructor(config: AutoencoderKLConfig) {
    super();
    this.config = config;
    const l = config.latent_channels;
    this.encoder = this.module('encoder', new Encoder(config));
    this.decoder = this.module('decoder', new Decoder(config));
    this.quant_conv = this.module('quant_conv', new Conv2d(2 * l, 2 * l, 1));
    this.post_quant_conv = this.module('post_quant_conv', new Conv2d(l, l, 1));
  }
  get scalingFactor(): number {
    return this.config.scaling_factor ?? 0.18215;
  }
  /** image [B, 3, H, W] in [-1, 1] → posterior over unscaled latents. */
  encode(image: Tensor): DiagonalGaussianDistribution {
    return new DiagonalGaussianDistribution(torch.scope(() => this.quant_conv.forward(this.encoder.forward(image))));
  }
  /** unscaled latents → image in about [-1, 1] (divide UNet latents by scalingFactor first). */
  decode(latents: Tensor): Tensor {
    return torch.scope(() => this.decoder.forward(this.post_quant_conv.forward(latents)));
  }
}
