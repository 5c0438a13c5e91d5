// transformers' CLIPTextConfig (snake_case, as in a text_encoder/config.json) and the real
// configs Stable Diffusion uses, so a single-file checkpoint (no config.json) can be built.

export interface CLIPTextConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  /** 'quick_gelu' (OpenAI CLIP-L) or 'gelu' (OpenCLIP ViT-H / bigG). */
  hidden_act: string;
  layer_norm_eps: number;
  /** Width of text_projection (CLIPTextModelWithProjection only). */
  projection_dim?: number;
  /** 2 in the real SD configs: selects the legacy pooling (argmax of the ids). */
  eos_token_id?: number;
  bos_token_id?: number;
  pad_token_id?: number;
  architectures?: string[];
  [key: string]: unknown;
}

const common = { vocab_size: 49408, max_position_embeddings: 77, layer_norm_eps: 1e-5, bos_token_id: 0, eos_token_id: 2, pad_token_id: 1 };

/** openai/clip-vit-large-patch14 text tower: SD1.x, SDXL text_encoder. */
export const CLIP_L: CLIPTextConfig = {
  ...common,
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  hidden_act: 'quick_gelu',
  projection_dim: 768,
};

/** OpenCLIP ViT-H/14 text tower as SD2.x ships it in diffusers (23 of its 24 layers, no projection). */
export const OPEN_CLIP_H: CLIPTextConfig = {
  ...common,
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 23,
  num_attention_heads: 16,
  hidden_act: 'gelu',
  projection_dim: 512,
};

/** OpenCLIP ViT-bigG/14 text tower with projection: SDXL text_encoder_2. */
export const OPEN_CLIP_BIGG: CLIPTextConfig = {
  ...common,
  hidden_size: 1280,
  intermediate_size: 5120,
  num_hidden_layers: 32,
  num_attention_heads: 20,
  hidden_act: 'gelu',
  projection_dim: 1280,
};

const REQUIRED = [
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'max_position_embeddings',
] as const;

/** Checks a parsed config.json (transformers fills defaults for the rest). */
export function parseClipTextConfig(raw: Record<string, unknown>, source = 'text encoder config'): CLIPTextConfig {
  for (const k of REQUIRED) {
    if (typeof raw[k] !== 'number') throw new Error(`${source}: '${k}' must be a number`);
  }
  const c = { hidden_act: 'quick_gelu', layer_norm_eps: 1e-5, eos_token_id: 2, ...raw } as CLIPTextConfig;
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new Error(`${source}: hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`);
  }
  if (c.hidden_act !== 'quick_gelu' && c.hidden_act !== 'gelu')
    throw new Error(`${source}: hidden_act '${c.hidden_act}' is not supported (quick_gelu, gelu)`);
  return c;
}
