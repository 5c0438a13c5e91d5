// CLIPMLP, CLIPEncoderLayer (pre-LayerNorm residual blocks) and CLIPEncoder, which returns
// the hidden state after every layer, as output_hidden_states=True does.
import { checkpoint } from '../../nn/checkpoint.ts';
import { LayerNorm, Linear, Module, ModuleList } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { CLIPAttention, causalMask } from './attention.ts';
import type { CLIPTextConfig } from './config.ts';

export class CLIPMLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(
    hidden: number,
    intermediate: number,
    readonly act: string,
  ) {
    super();
    this.fc1 = this.module('fc1', new Linear(hidden, intermediate));
    this.fc2 = this.module('fc2', new Linear(intermediate, hidden));
  }
  forward(x: Tensor): Tensor {
    return torch.scope(() => {
      const h = this.fc1.forward(x);
      // quick_gelu is OpenAI CLIP's x·σ(1.702x); OpenCLIP towers use exact (erf) gelu.
      const a = this.act === 'quick_gelu' ? h.mul(h.mul(1.702).sigmoid()) : torch.F.gelu(h);
      return this.fc2.forward(a);
    });
  }
}

export class CLIPEncoderLayer extends Module {
  readonly self_attn: CLIPAttention;
  readonly layer_norm1: LayerNorm;
  readonly mlp: CLIPMLP;
  readonly layer_norm2: LayerNorm;
  constructor(c: CLIPTextConfig) {
    super();
    this.self_attn = this.module('self_attn', new CLIPAttention(c.hidden_size, c.num_attention_heads));
    this.layer_norm1 = this.module('layer_norm1', new LayerNorm([c.hidden_size], c.layer_norm_eps));
    this.mlp = this.module('mlp', new CLIPMLP(c.hidden_size, c.intermediate_size, c.hidden_act));
    this.layer_norm2 = this.module('layer_norm2', new LayerNorm([c.hidden_size], c.layer_norm_eps));
  }
  forward(x: Tensor, mask: Tensor): Tensor {
    return torch.scope(() => {
      const h = x.add(this.self_attn.forward(this.layer_norm1.forward(x), mask));
      return h.add(this.mlp.forward(this.layer_norm2.forward(h)));
    });
  }
}

export class CLIPEncoder extends Module {
  readonly layers: ModuleList<CLIPEncoderLayer>;
  /** Route each layer through nn/checkpoint (recomputed in backward when a tape records). */
  gradientCheckpointing = false;
  constructor(c: CLIPTextConfig) {
    super();
    this.layers = this.module('layers', new ModuleList(Array.from({ length: c.num_hidden_layers }, () => new CLIPEncoderLayer(c))));
  }
  /**
   * [input, after layer 1, ..., after layer N] (N+1 tensors, none final-normed). `upTo` stops
   * after that many layers, for callers that only need an earlier layer (clip skip).
   */
  forward(x: Tensor, upTo = this.layers.length): Tensor[] {
    const n = x.shape[1];
    const states = [x];
    for (const layer of this.layers.items.slice(0, upTo)) {
      const prev = states[states.length - 1];
      // The mask is made inside the segment so a checkpoint replay never needs a freed tensor.
      const run = (h: Tensor) => torch.scope(() => layer.forward(h, causalMask(n, h.dtype)));
      states.push(this.gradientCheckpointing ? checkpoint((h) => [run(h)], [prev])[0] : run(prev));
    }
    return states;
  }
}
