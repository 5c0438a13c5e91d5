// diffusers UNet2DConditionModel for SD 1.x, 2.x and SDXL, built from its config object.
// Attribute paths are diffusers' state-dict names (kohya adapter names are derived from them).
import { checkpoint } from '../../nn/checkpoint.ts';
import { Conv2d, GroupNorm, Module, ModuleList } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { DownBlock, MidBlockCrossAttn, UpBlock } from './blocks.ts';
import { planBlocks, type UNet2DConditionConfig } from './config.ts';
import { TimestepEmbedding, Timesteps } from './embeddings.ts';

export interface UNetConditioning {
  /** SDXL: pooled text embedding of encoder 2, [B, 1280]. */
  textEmbeds?: Tensor;
  /** SDXL: [B, 6] original size, crop top-left, target size. */
  timeIds?: Tensor;
}

/** Outputs of interest along the way (the golden data's forward-hook taps). */
export type TapFn = (name: string, t: Tensor) => void;

const CROSS_ATTN_DOWN = 'CrossAttnDownBlock2D';
const CROSS_ATTN_UP = 'CrossAttnUpBlock2D';

export class UNet2DConditionModel extends Module {
  readonly config: UNet2DConditionConfig;
  readonly conv_in: Conv2d;
  readonly time_proj: Timesteps;
  readonly time_embedding: TimestepEmbedding;
  readonly add_time_proj?: Timesteps;
  readonly add_embedding?: TimestepEmbedding;
  readonly down_blocks: ModuleList<DownBlock>;
  readonly mid_block: MidBlockCrossAttn;
  readonly up_blocks: ModuleList<UpBlock>;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  /** When true, blocks run through nn/checkpoint (effective while a CheckpointTape records). */
  gradientCheckpointing = false;

  constructor(config: UNet2DConditionConfig) {
    super();
    this.config = config;
    const c = config;
    const plan = planBlocks(c);
    const boc = c.block_out_channels;
    const groups = c.norm_num_groups;
    const eps = c.norm_eps ?? 1e-5;
    const flip = c.flip_sin_to_cos ?? true;
    const shift = c.freq_shift ?? 0;
    const tembCh = boc[0] * 4;
    const linear = c.use_linear_projection ?? false;
    const upcast = c.upcast_attention ?? false;
    if ((c.mid_block_type ?? 'UNetMidBlock2DCrossAttn') !== 'UNetMidBlock2DCrossAttn') {
      throw new Error(`UNet config: mid_block_type '${c.mid_block_type}' is not supported`);
    }

    this.conv_in = this.module('conv_in', new Conv2d(c.in_channels, boc[0], 3, { padding: 1 }));
    this.time_proj = this.module('time_proj', new Timesteps(boc[0], flip, shift));
    this.time_embedding = this.module('time_embedding', new TimestepEmbedding(boc[0], tembCh));
    if (c.addition_embed_type === 'text_time') {
      this.add_time_proj = this.module('add_time_proj', new Timesteps(c.addition_time_embed_dim!, flip, shift));
      this.add_embedding = this.module('add_embedding', new TimestepEmbedding(c.projection_class_embeddings_input_dim!, tembCh));
    } else if (c.addition_embed_type) {
      throw new Error(`UNet config: addition_embed_type '${c.addition_embed_type}' is not supported`);
    }

    const attention = (i: number, isCross: boolean) =>
      isCross
        ? {
            heads: plan.heads[i],
            transformerLayers: plan.transformerLayers[i],
            crossAttentionDim: plan.crossAttentionDim[i],
            useLinearProjection: linear,
            upcastAttention: upcast,
          }
        : null;

    const downs: DownBlock[] = [];
    let out = boc[0];
    c.down_block_types.forEach((type, i) => {
      if (type !== CROSS_ATTN_DOWN && type !== 'DownBlock2D') throw new Error(`UNet config: down block '${type}' is not supported`);
      const inCh = out;
      out = boc[i];
      downs.push(
        new DownBlock({
          inChannels: inCh,
          outChannels: out,
          tembChannels: tembCh,
          numLayers: plan.layersPerBlock[i],
          groups,
          eps,
          attention: attention(i, type === CROSS_ATTN_DOWN),
          addDownsample: i < boc.length - 1,
          downsamplePadding: c.downsample_padding ?? 1,
        }),
      );
    });
    this.down_blocks = this.module('down_blocks', new ModuleList(downs));

    const last = boc.length - 1;
    this.mid_block = this.module(
      'mid_block',
      new MidBlockCrossAttn({
        inChannels: boc[last],
        outChannels: boc[last],
        tembChannels: tembCh,
        numLayers: 1,
        groups,
        eps,
        attention: attention(last, true),
        outputScaleFactor: c.mid_block_scale_factor ?? 1,
      }),
    );

    // Up blocks mirror the down blocks: per-block lists are read reversed.
    const rev = [...boc].reverse();
    const ups: UpBlock[] = [];
    out = rev[0];
    c.up_block_types.forEach((type, i) => {
      if (type !== CROSS_ATTN_UP && type !== 'UpBlock2D') throw new Error(`UNet config: up block '${type}' is not supported`);
      const r = last - i;
      const prev = out;
      out = rev[i];
      const inCh = rev[Math.min(i + 1, last)];
      ups.push(
        new UpBlock({
          inChannels: inCh,
          outChannels: out,
          prevOutputChannels: prev,
          tembChannels: tembCh,
          numLayers: plan.layersPerBlock[r] + 1,
          groups,
          eps,
          attention: attention(r, type === CROSS_ATTN_UP),
          addUpsample: i < last,
        }),
      );
    });
    this.up_blocks = this.module('up_blocks', new ModuleList(ups));

    this.conv_norm_out = this.module('conv_norm_out', new GroupNorm(groups, boc[0], eps));
    this.conv_out = this.module('conv_out', new Conv2d(boc[0], c.out_channels, 3, { padding: 1 }));
  }

  /** Time embedding (+ SDXL's text_time embedding), [B, 4·C0]. */
  embed(timesteps: Tensor, batch: number, dtype: Tensor['dtype'], cond: UNetConditioning, tap?: TapFn): Tensor {
    return torch.scope(() => {
      // A 0-d or length-1 timestep applies to the whole batch.
      const t = timesteps.ndim === 0 || timesteps.shape[0] !== batch ? timesteps.reshape(-1).expand(batch) : timesteps;
      let emb = this.time_embedding.forward(this.time_proj.forward(t).to(dtype));
      tap?.('time_embedding', emb);
      if (this.add_embedding && this.add_time_proj) {
        if (!cond.textEmbeds || !cond.timeIds) throw new Error('SDXL UNet: textEmbeds and timeIds are required (added_cond_kwargs)');
        const timeEmbeds = this.add_time_proj.forward(cond.timeIds.reshape(-1)).reshape(batch, -1);
        const addEmbeds = torch.cat([cond.textEmbeds, timeEmbeds.to(cond.textEmbeds.dtype)], -1).to(emb.dtype);
        const aug = this.add_embedding.forward(addEmbeds);
        tap?.('add_embedding', aug);
        emb = emb.add(aug);
      }
      return emb;
    });
  }

  /**
   * Predicts noise (or v) for `sample` [B, C, H, W] at `timesteps` ([B] or 0-d) given the text
   * states [B, 77, D]. `tap` receives intermediate outputs under diffusers' module names.
   */
  forward(sample: Tensor, timesteps: Tensor, encoderHiddenStates: Tensor, cond: UNetConditioning = {}, tap?: TapFn): Tensor {
    return torch.scope(() => {
      const batch = sample.shape[0];
      const emb = this.embed(timesteps, batch, sample.dtype, cond, tap);
      const ctx = encoderHiddenStates;
      const run = (fn: (...xs: Tensor[]) => Tensor[], inputs: Tensor[]) =>
        this.gradientCheckpointing ? checkpoint(fn, inputs) : fn(...inputs);

      let h = this.conv_in.forward(sample);
      tap?.('conv_in', h);
      const skips: Tensor[] = [h];
      this.down_blocks.items.forEach((block, i) => {
        const [next, ...states] = run((x, e, c) => block.forward(x, e, c), [h, emb, ctx]);
        h = next;
        skips.push(...states);
        tap?.(`down_blocks.${i}`, h);
      });

      [h] = run((x, e, c) => [this.mid_block.forward(x, e, c)], [h, emb, ctx]);
      tap?.('mid_block', h);

      // Upsampling to the skip's size handles latents not divisible by 2^(number of upsamplers).
      const factor = 2 ** (this.up_blocks.length - 1);
      const forwardSize = sample.shape[2] % factor !== 0 || sample.shape[3] % factor !== 0;
      this.up_blocks.items.forEach((block, i) => {
        const n = block.resnets.length;
        const mine = skips.splice(skips.length - n, n);
        const isFinal = i === this.up_blocks.length - 1;
        const size = !isFinal && forwardSize ? skips[skips.length - 1].shape.slice(2) : undefined;
        [h] = run((x, e, c, ...s) => [block.forward(x, s, e, c, size)], [h, emb, ctx, ...mine]);
        tap?.(`up_blocks.${i}`, h);
      });

      h = this.conv_out.forward(torch.F.silu(this.conv_norm_out.forward(h)));
      tap?.('conv_out', h);
      return h;
    });
  }
}
