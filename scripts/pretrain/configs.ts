// The tiny model's configs: Stable Diffusion 1.x's classes and layout (cross-attention down/up
// blocks, a cross-attention mid block, CLIP text tower with causal attention and argmax
// pooling, KL autoencoder with a mid attention block), with channels small enough to train on
// two CPU cores in minutes. 32x32 images -> 8x8x4 latents (two downsamplings), 77 tokens.
import type { CLIPTextConfig } from '../../src/models/clip/index.ts';
import type { AutoencoderKLConfig, UNet2DConditionConfig } from '../../src/models/index.ts';

export const VAE_CONFIG: AutoencoderKLConfig = {
  _class_name: 'AutoencoderKL',
  in_channels: 3,
  out_channels: 3,
  down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
  up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
  block_out_channels: [16, 32, 32],
  layers_per_block: 1,
  latent_channels: 4,
  norm_num_groups: 8,
  act_fn: 'silu',
  sample_size: 32,
  // Replaced after training by 1/std of the training latents, as SD's 0.18215 was chosen.
  scaling_factor: 1,
};

export const TEXT_WIDTH = 64;

export function textConfig(vocabSize: number): CLIPTextConfig {
  return {
    architectures: ['CLIPTextModel'],
    model_type: 'clip_text_model',
    vocab_size: vocabSize,
    hidden_size: TEXT_WIDTH,
    intermediate_size: 4 * TEXT_WIDTH,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    max_position_embeddings: 77,
    hidden_act: 'quick_gelu',
    layer_norm_eps: 1e-5,
    projection_dim: TEXT_WIDTH,
    bos_token_id: vocabSize - 2,
    eos_token_id: 2, // as SD's config: 2 selects the argmax-of-ids pooling (EOS has the top id)
    pad_token_id: vocabSize - 1,
    torch_dtype: 'float32',
  };
}

export const UNET_CONFIG: UNet2DConditionConfig = {
  _class_name: 'UNet2DConditionModel',
  sample_size: 8,
  in_channels: 4,
  out_channels: 4,
  // Two levels (8x8, 4x4), both with cross-attention: a third 2x2 level cost 2.4x the step
  // time on CPU (many tiny kernels) for little use at this size.
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
  mid_block_type: 'UNetMidBlock2DCrossAttn',
  up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  block_out_channels: [32, 64],
  layers_per_block: 1,
  norm_num_groups: 8,
  norm_eps: 1e-5,
  cross_attention_dim: TEXT_WIDTH,
  attention_head_dim: 4,
  use_linear_projection: false,
  upcast_attention: false,
  flip_sin_to_cos: true,
  freq_shift: 0,
  act_fn: 'silu',
  downsample_padding: 1,
  mid_block_scale_factor: 1,
  center_input_sample: false,
};

/** Step counts and sizes, chosen so the whole run fits ~25 minutes on 2 shared CPU cores. */
export const RECIPE = {
  images: 4096,
  /** Extra uncaptioned images in arbitrary colours, for the VAE only. */
  vaeExtraImages: 2048,
  vae: { steps: 1500, batch: 32, lr: 2e-3, klWeight: 1e-5 },
  diffusion: { steps: 3500, batch: 32, lr: 1e-3, captionDropout: 0.1 },
};
