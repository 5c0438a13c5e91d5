// CLIPAttention: multi-head self-attention with q_proj/k_proj/v_proj/out_proj and the causal
// mask added to the scores (the text tower never sees an attention mask in SD).
import { Linear, Module } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';

export class CLIPAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;
  readonly headDim: number;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
  ) {
    super();
    this.headDim = embedDim / numHeads;
    this.k_proj = this.module('k_proj', new Linear(embedDim, embedDim));
    this.v_proj = this.module('v_proj', new Linear(embedDim, embedDim));
    this.q_proj = this.module('q_proj', new Linear(embedDim, embedDim));
    this.out_proj = this.module('out_proj', new Linear(embedDim, embedDim));
  }

  /** x: [batch, tokens, embed]; causalMask: [tokens, tokens] with -inf above the diagonal. */
  forward(x: Tensor, causalMask: Tensor): Tensor {
    return torch.scope(() => {
      const [b, n] = x.shape;
      const heads = (t: Tensor) => t.view(b, n, this.numHeads, this.headDim).transpose(1, 2);
      // transformers scales q before the product; same order here for the same rounding.
      const q = heads(this.q_proj.forward(x).mul(this.headDim ** -0.5));
      const k = heads(this.k_proj.forward(x));
      const v = heads(this.v_proj.forward(x));
      const scores = q.matmul(k.transpose(-2, -1)).add(causalMask);
      const out = torch.F.softmax(scores, -1).matmul(v);
      return this.out_proj.forward(out.transpose(1, 2).reshape(b, n, this.embedDim));
    });
  }
}

/** [n, n] float mask: 0 on and below the diagonal, -inf above (each token sees only the past). */
export function causalMask(n: number, dtype: Tensor['dtype'] = 'float32'): Tensor {
  return torch.scope(() => torch.full([n, n], Number.NEGATIVE_INFINITY, { dtype }).triu(1));
}
