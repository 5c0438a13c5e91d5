// CLIPTextModel / CLIPTextModelWithProjection with transformers' module paths
// (text_model.embeddings.token_embedding, text_model.encoder.layers.N..., text_model.final_layer_norm,
// text_projection), so state dicts with transformers' names load as they are.
import { Embedding, LayerNorm, Linear, Module } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import type { CLIPTextConfig } from './config.ts';
import { CLIPEncoder } from './encoder.ts';

export class CLIPTextEmbeddings extends Module {
  readonly token_embedding: Embedding;
  readonly position_embedding: Embedding;
  constructor(c: CLIPTextConfig) {
    super();
    this.token_embedding = this.module('token_embedding', new Embedding(c.vocab_size, c.hidden_size));
    this.position_embedding = this.module('position_embedding', new Embedding(c.max_position_embeddings, c.hidden_size));
    // position_ids is a non-persistent buffer since transformers 4.31; it is made per call here,
    // and loaders drop the key that older files carry (see LEGACY_KEYS).
  }
  forward(inputIds: Tensor): Tensor {
    return torch.scope(() => {
      const n = inputIds.shape[inputIds.ndim - 1];
      const positions = torch.arange(0, n, 1, { dtype: 'int64', device: inputIds.device });
      return this.token_embedding.forward(inputIds).add(this.position_embedding.forward(positions));
    });
  }
}

export interface CLIPTextOutput {
  /** [embeddings, after layer 1, ..., after layer N], none final-normed; shorter when forward got `upTo`. */
  hidden_states: Tensor[];
  /** final_layer_norm(hidden_states[-1]); absent when forward stopped early. */
  last_hidden_state?: Tensor;
  /** last_hidden_state at the pooling index of each row. */
  pooler_output?: Tensor;
}

export interface CLIPForwardOptions {
  /** Run only the first `upTo` layers (no final norm, no pooling): for clip skip. */
  upTo?: number;
  /** Override the config's eos_token_id for pooling (2 = legacy argmax, else first EOS). */
  eosTokenId?: number;
}

/** Pooling index per row, as transformers picks it: argmax of the ids when the config's
 *  eos_token_id is 2 (all real SD configs), else the first position holding eos_token_id. */
export function poolingIndex(inputIds: Tensor, eosTokenId: number): Tensor {
  return torch.scope(() => (eosTokenId === 2 ? inputIds.to('int32').argmax(-1) : inputIds.eq(eosTokenId).to('int32').argmax(-1)));
}

/** x[b, index[b]] for x [B, T, H]: gathered so that gradient flows to the picked rows. */
export function pickRows(x: Tensor, index: Tensor): Tensor {
  return torch.scope(() => {
    const [b, , h] = x.shape;
    return x.gather(1, index.to('int64').view(b, 1, 1).expand(b, 1, h)).squeeze(1);
  });
}

export class CLIPTextTransformer extends Module {
  readonly embeddings: CLIPTextEmbeddings;
  readonly encoder: CLIPEncoder;
  readonly final_layer_norm: LayerNorm;
  constructor(readonly config: CLIPTextConfig) {
    super();
    this.embeddings = this.module('embeddings', new CLIPTextEmbeddings(config));
    this.encoder = this.module('encoder', new CLIPEncoder(config));
    this.final_layer_norm = this.module('final_layer_norm', new LayerNorm([config.hidden_size], config.layer_norm_eps));
  }
  forward(inputIds: Tensor, o: CLIPForwardOptions = {}): CLIPTextOutput {
    return torch.scope(() => {
      const x = this.embeddings.forward(inputIds);
      const upTo = o.upTo ?? this.encoder.layers.length;
      const hidden_states = this.encoder.forward(x, upTo);
      if (upTo < this.encoder.layers.length) return { hidden_states };
      const last_hidden_state = this.final_layer_norm.forward(hidden_states[hidden_states.length - 1]);
      const index = poolingIndex(inputIds, o.eosTokenId ?? this.config.eos_token_id ?? 2);
      return { hidden_states, last_hidden_state, pooler_output: pickRows(last_hidden_state, index) };
    });
  }
}

/** Keys older transformers wrote that are not parameters (a non-persistent buffer now). */
export const LEGACY_KEYS = ['text_model.embeddings.position_ids'];

export class CLIPTextModel extends Module {
  readonly text_model: CLIPTextTransformer;
  constructor(readonly config: CLIPTextConfig) {
    super();
    this.text_model = this.module('text_model', new CLIPTextTransformer(config));
  }
  forward(inputIds: Tensor, o: CLIPForwardOptions = {}): CLIPTextOutput {
    return this.text_model.forward(inputIds, o);
  }
  /** Gradient checkpointing of every encoder layer (see nn/checkpoint.ts). */
  set gradientCheckpointing(on: boolean) {
    this.text_model.encoder.gradientCheckpointing = on;
  }
  get gradientCheckpointing(): boolean {
    return this.text_model.encoder.gradientCheckpointing;
  }
}

export interface CLIPTextWithProjectionOutput extends CLIPTextOutput {
  /** text_projection(pooler_output); absent when forward stopped early. */
  text_embeds?: Tensor;
}

export class CLIPTextModelWithProjection extends CLIPTextModel {
  readonly text_projection: Linear;
  constructor(config: CLIPTextConfig) {
    super(config);
    if (config.projection_dim === undefined) throw new Error('CLIPTextModelWithProjection: config has no projection_dim');
    this.text_projection = this.module('text_projection', new Linear(config.hidden_size, config.projection_dim, false));
  }
  override forward(inputIds: Tensor, o: CLIPForwardOptions = {}): CLIPTextWithProjectionOutput {
    return torch.scope(() => {
      const out = this.text_model.forward(inputIds, o);
      return out.pooler_output ? { ...out, text_embeds: this.text_projection.forward(out.pooler_output) } : out;
    });
  }
}
