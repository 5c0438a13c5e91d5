// diffusers Attention (to_q/to_k/to_v/to_out.0), GEGLU FeedForward and BasicTransformerBlock.
import { GroupNorm, LayerNorm, Linear, Module, ModuleList } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';

const { F } = torch;

/** Attention options shared by every block: slicing bounds the score matrix's memory. */
export const attentionSettings = {
  /** When > 0, attention runs over chunks of this many (batch·head) rows at a time. */
  sliceSize: 0,
};

/** Dropout placeholder so that `to_out.1` / `ff.net.1` exist as in diffusers (no parameters). */
class Dropout extends Module {}

const SDPA = torch.hasOp('aten::scaled_dot_product_attention', '');

/**
 * Without a fused kernel (libtorch < 2.0): the scale rides in baddbmm's alpha, as upstream's
 * AttnProcessor does, instead of a separate pass over the (tokens × keys) scores, forward and backward.
 */
function scaledScores(q: Tensor, k: Tensor, v: Tensor): Tensor {
  return torch.scope(() => {
    const [b, h, n, d] = q.shape;
    const m = k.shape[2];
    const q3 = q.reshape(b * h, n, d);
    const kT = k.reshape(b * h, m, d).transpose(1, 2);
    const alpha = 1 / Math.sqrt(d);
    // libtorch 1.13's CPU kernel for small products (d·n·m < 400) computes out·beta + alpha·qk
    // on an uninitialised `out`, so beta = 0 turned leftover infs into NaN (a tiny UNet's 2x2
    // mid-block attention); there, multiply after bmm, which is what that kernel means to do.
    const scores =
      d * n * m < 400
        ? q3.bmm(kT).mul(alpha)
        : torch.baddbmm(torch.empty([b * h, n, m], { dtype: q.dtype, device: q.device }), q3, kT, { beta: 0, alpha });
    return F.softmax(scores, -1)
      .bmm(v.reshape(b * h, m, d))
      .reshape(b, h, n, d);
  });
}

/**
 * softmax(q kᵀ / √d) v over [batch, heads, tokens, dim]. Upcast runs q·k and softmax in float32
 * (SD2's `upcast_attention`) when the inputs are half precision.
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, upcast: boolean): Tensor {
  return torch.scope(() => {
    const dtype = q.dtype;
    const up = upcast && dtype !== 'float32' && dtype !== 'float64';
    const [b, h, n, d] = q.shape;
    const slice = attentionSettings.sliceSize;
    const run = (qq: Tensor, kk: Tensor, vv: Tensor): Tensor => {
      if (!up) return SDPA ? F.scaledDotProductAttention(qq, kk, vv) : scaledScores(qq, kk, vv);
      const probs = F.softmax(
        qq
          .to('float32')
          .matmul(kk.to('float32').transpose(-2, -1))
          .mul_(1 / Math.sqrt(d)),
        -1,
      );
      return probs.to(dtype).matmul(vv);
    };
    if (slice <= 0 || slice >= b * h) return run(q, k, v);
    const q3 = q.reshape(b * h, n, d);
    const k3 = k.reshape(b * h, k.shape[2], d);
    const v3 = v.reshape(b * h, v.shape[2], d);
    const parts: Tensor[] = [];
    for (let s = 0; s < b * h; s += slice) {
      const len = Math.min(slice, b * h - s);
      parts.push(torch.scope(() => run(q3.narrow(0, s, len), k3.narrow(0, s, len), v3.narrow(0, s, len))));
    }
    return torch.cat(parts, 0).reshape(b, h, n, d);
  });
}

export interface AttentionOptions {
  queryDim: number;
  /** Width of the key/value input; null for self-attention. */
  crossAttentionDim: number | null;
  heads: number;
  dimHead: number;
  /** Bias on to_q/to_k/to_v (false in transformer blocks, true in the VAE's mid attention). */
  bias: boolean;
  upcastAttention?: boolean;
  /** VAE style: GroupNorm on the input and a residual connection, over NCHW maps. */
  groupNorm?: { groups: number; eps: number };
}

export class Attention extends Module {
  readonly group_norm?: GroupNorm;
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly to_out: ModuleList;
  readonly heads: number;
  readonly upcast: boolean;
  constructor(o: AttentionOptions) {
    super();
    const inner = o.heads * o.dimHead;
    const kvDim = o.crossAttentionDim ?? o.queryDim;
    this.heads = o.heads;
    this.upcast = o.upcastAttention ?? false;
    if (o.groupNorm) this.group_norm = this.module('group_norm', new GroupNorm(o.groupNorm.groups, o.queryDim, o.groupNorm.eps));
    this.to_q = this.module('to_q', new Linear(o.queryDim, inner, o.bias));
    this.to_k = this.module('to_k', new Linear(kvDim, inner, o.bias));
    this.to_v = this.module('to_v', new Linear(kvDim, inner, o.bias));
    this.to_out = this.module('to_out', new ModuleList<Module>([new Linear(inner, o.queryDim), new Dropout()]));
  }

  private splitHeads(x: Tensor): Tensor {
    const [b, n, c] = x.shape;
    return x.reshape(b, n, this.heads, c / this.heads).permute(0, 2, 1, 3);
  }

  /** x: [B, N, C] tokens (or [B, C, H, W] with group_norm); context: [B, M, C'] or null. */
  forward(x: Tensor, context: Tensor | null = null): Tensor {
    return torch.scope(() => {
      const spatial = x.ndim === 4 ? x.shape : null;
      let tokens = spatial ? x.reshape(spatial[0], spatial[1], -1).transpose(1, 2) : x;
      if (this.group_norm) tokens = this.group_norm.forward(tokens.transpose(1, 2)).transpose(1, 2);
      const ctx = context ?? tokens;
      const q = this.splitHeads(this.to_q.forward(tokens));
      const k = this.splitHeads(this.to_k.forward(ctx));
      const v = this.splitHeads(this.to_v.forward(ctx));
      const o = attend(q, k, v, this.upcast);
      const [b, h, n, d] = o.shape;
      let out = (this.to_out.at(0) as Linear).forward(o.permute(0, 2, 1, 3).reshape(b, n, h * d));
      if (spatial) out = out.transpose(1, 2).reshape(spatial);
      // The VAE's attention (group_norm set) adds its input back, as diffusers' residual_connection.
      return this.group_norm ? out.add(x) : out;
    });
  }
}

/** diffusers GEGLU: proj to 2×inner, value · GELU(gate). */
export class GEGLU extends Module {
  readonly proj: Linear;
  constructor(dimIn: number, dimOut: number) {
    super();
    this.proj = this.module('proj', new Linear(dimIn, dimOut * 2));
  }
  forward(x: Tensor): Tensor {
    return torch.scope(() => {
      const [value, gate] = this.proj.forward(x).chunk(2, -1);
      return value.mul(F.gelu(gate));
    });
  }
}

/** diffusers FeedForward with GEGLU: net.0 (GEGLU), net.1 (dropout), net.2 (Linear). */
export class FeedForward extends Module {
  readonly net: ModuleList;
  constructor(dim: number, mult = 4) {
    super();
    const inner = dim * mult;
    this.net = this.module('net', new ModuleList<Module>([new GEGLU(dim, inner), new Dropout(), new Linear(inner, dim)]));
  }
  forward(x: Tensor): Tensor {
    return torch.scope(() => (this.net.at(2) as Linear).forward((this.net.at(0) as GEGLU).forward(x)));
  }
}

export interface TransformerBlockOptions {
  dim: number;
  heads: number;
  dimHead: number;
  crossAttentionDim: number;
  upcastAttention: boolean;
}

/** Self-attention, cross-attention, feed-forward; each pre-LayerNorm with a residual. */
export class BasicTransformerBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn1: Attention;
  readonly norm2: LayerNorm;
  readonly attn2: Attention;
  readonly norm3: LayerNorm;
  readonly ff: FeedForward;
  constructor(o: TransformerBlockOptions) {
    super();
    const base = { queryDim: o.dim, heads: o.heads, dimHead: o.dimHead, bias: false, upcastAttention: o.upcastAttention };
    this.norm1 = this.module('norm1', new LayerNorm([o.dim]));
    this.attn1 = this.module('attn1', new Attention({ ...base, crossAttentionDim: null }));
    this.norm2 = this.module('norm2', new LayerNorm([o.dim]));
    this.attn2 = this.module('attn2', new Attention({ ...base, crossAttentionDim: o.crossAttentionDim }));
    this.norm3 = this.module('norm3', new LayerNorm([o.dim]));
    this.ff = this.module('ff', new FeedForward(o.dim));
  }
  forward(x: Tensor, context: Tensor): Tensor {
    return torch.scope(() => {
      let h = this.attn1.forward(this.norm1.forward(x)).add(x);
      h = this.attn2.forward(this.norm2.forward(h), context).add(h);
      return this.ff.forward(this.norm3.forward(h)).add(h);
    });
  }
}
