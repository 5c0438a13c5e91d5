// diffusers configs of the full-size models a single-file checkpoint holds (the values
// sd-scripts writes when it converts: create_unet_diffusers_config / DIFFUSERS_SDXL_UNET_CONFIG).
import type { UNet2DConditionConfig } from '../unet/config.ts';
import type { AutoencoderKLConfig } from '../vae/autoencoder-kl.ts';

export type Family = 'sd1' | 'sd2' | 'sdxl';

const UNET_COMMON = {
  in_channels: 4,
  out_channels: 4,
  layers_per_block: 2,
  norm_num_groups: 32,
  norm_eps: 1e-5,
  flip_sin_to_cos: true,
  freq_shift: 0,
  act_fn: 'silu',
  downsample_padding: 1,
  mid_block_scale_factor: 1,
  mid_block_type: 'UNetMidBlock2DCrossAttn',
  upcast_attention: false,
};

const SD_BLOCKS = {
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  block_out_channels: [320, 640, 1280, 1280],
  sample_size: 64,
};

export function unetConfig(family: Family): UNet2DConditionConfig {
  switch (family) {
    case 'sd1':
      return { ...UNET_COMMON, ...SD_BLOCKS, cross_attention_dim: 768, attention_head_dim: 8, use_linear_projection: false };
    case 'sd2':
      return { ...UNET_COMMON, ...SD_BLOCKS, cross_attention_dim: 1024, attention_head_dim: [5, 10, 20, 20], use_linear_projection: true };
    case 'sdxl':
      return {
        ...UNET_COMMON,
        down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
        up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
        block_out_channels: [320, 640, 1280],
        sample_size: 128,
        cross_attention_dim: 2048,
        attention_head_dim: [5, 10, 20],
        transformer_layers_per_block: [1, 2, 10],
        use_linear_projection: true,
        addition_embed_type: 'text_time',
        addition_time_embed_dim: 256,
        projection_class_embeddings_input_dim: 2816,
      };
  }
}

export function vaeConfig(family: Family): AutoencoderKLConfig {
  return {
    in_channels: 3,
    out_channels: 3,
    down_block_types: Array(4).fill('DownEncoderBlock2D'),
    up_block_types: Array(4).fill('UpDecoderBlock2D'),
    block_out_channels: [128, 256, 512, 512],
    layers_per_block: 2,
    act_fn: 'silu',
    latent_channels: 4,
    norm_num_groups: 32,
    sample_size: 256,
    scaling_factor: family === 'sdxl' ? 0.13025 : 0.18215,
  };
}

/** transformers CLIPTextConfig values of the text encoders (the other engineer's models read these). */
export function textEncoderConfigs(family: Family): Record<string, Record<string, unknown>> {
  const base = { vocab_size: 49408, max_position_embeddings: 77, layer_norm_eps: 1e-5, bos_token_id: 0, eos_token_id: 2, pad_token_id: 1 };
  const clipL = {
    ...base,
    hidden_size: 768,
    intermediate_size: 3072,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    hidden_act: 'quick_gelu',
    projection_dim: 768,
  };
  if (family === 'sd1') return { text_encoder: clipL };
  if (family === 'sd2') {
    return {
      text_encoder: {
        ...base,
        hidden_size: 1024,
        intermediate_size: 4096,
        num_hidden_layers: 23,
        num_attention_heads: 16,
        hidden_act: 'gelu',
        projection_dim: 512,
      },
    };
  }
  return {
    text_encoder: clipL,
    text_encoder_2: {
      ...base,
      hidden_size: 1280,
      intermediate_size: 5120,
      num_hidden_layers: 32,
      num_attention_heads: 20,
      hidden_act: 'gelu',
      projection_dim: 1280,
    },
  };
}
