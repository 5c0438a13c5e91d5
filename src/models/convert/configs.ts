// diffusers configs of the full-size models a single-file checkpoint holds (the values
// sd-scripts writes when it converts: create_unet_diffusers_config / DIFFUSERS_SDXL_UNET_CONFIG).

import { CLIP_L, type CLIPTextConfig, OPEN_CLIP_BIGG, OPEN_CLIP_H } from '../clip/config.ts';
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

/** transformers CLIPTextConfig values of each family's text encoders (defined with the CLIP model). */
export function textEncoderConfigs(family: Family): Record<string, CLIPTextConfig> {
  if (family === 'sd1') return { text_encoder: CLIP_L };
  if (family === 'sd2') return { text_encoder: OPEN_CLIP_H };
  return { text_encoder: CLIP_L, text_encoder_2: OPEN_CLIP_BIGG };
}
