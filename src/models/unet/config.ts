// The diffusers UNet2DConditionModel config (snake_case, as in config.json) and its per-block
// expansion, including the `attention_head_dim` quirk (it is the number of heads).

export interface UNet2DConditionConfig {
  in_channels: number;
  out_channels: number;
  down_block_types: string[];
  mid_block_type?: string | null;
  up_block_types: string[];
  block_out_channels: number[];
  layers_per_block: number | number[];
  norm_num_groups: number;
  norm_eps?: number;
  cross_attention_dim: number | number[];
  attention_head_dim: number | number[];
  num_attention_heads?: number | number[] | null;
  transformer_layers_per_block?: number | number[];
  use_linear_projection?: boolean;
  upcast_attention?: boolean;
  flip_sin_to_cos?: boolean;
  freq_shift?: number;
  act_fn?: string;
  downsample_padding?: number;
  mid_block_scale_factor?: number;
  addition_embed_type?: string | null;
  addition_time_embed_dim?: number | null;
  projection_class_embeddings_input_dim?: number | null;
  sample_size?: number;
  [key: string]: unknown;
}

/** Per-block values resolved from the config. */
export interface BlockPlan {
  heads: number[];
  transformerLayers: number[];
  layersPerBlock: number[];
  crossAttentionDim: number[];
}

function perBlock(v: number | number[] | null | undefined, n: number, name: string): number[] {
  if (v === null || v === undefined) throw new Error(`UNet config: ${name} is missing`);
  if (typeof v === 'number') return Array(n).fill(v);
  if (v.length !== n) throw new Error(`UNet config: ${name} has ${v.length} entries for ${n} down blocks`);
  return v;
}

export function planBlocks(c: UNet2DConditionConfig): BlockPlan {
  const n = c.down_block_types.length;
  const supported = new Set(['silu', 'swish']);
  if (c.act_fn && !supported.has(c.act_fn)) throw new Error(`UNet config: act_fn '${c.act_fn}' is not supported (silu only)`);
  // diffusers: num_attention_heads = num_attention_heads or attention_head_dim.
  return {
    heads: perBlock(c.num_attention_heads ?? c.attention_head_dim, n, 'attention_head_dim'),
    transformerLayers: perBlock(c.transformer_layers_per_block ?? 1, n, 'transformer_layers_per_block'),
    layersPerBlock: perBlock(c.layers_per_block, n, 'layers_per_block'),
    crossAttentionDim: perBlock(c.cross_attention_dim, n, 'cross_attention_dim'),
  };
}
