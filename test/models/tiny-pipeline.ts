// A tiny random-init Stable Diffusion model saved as a diffusers folder (unet, vae, text
// encoder(s), tokenizer(s) with a made-up 60-token BPE vocabulary), for pipeline and CLI tests.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTextEncoder, type CLIPTextConfig } from '../../src/models/clip/index.ts';
import { type UNet2DConditionConfig, UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { AutoencoderKL, type AutoencoderKLConfig } from '../../src/models/vae/index.ts';
import type { Module } from '../../src/nn/index.ts';
import * as torch from '../../src/torch/index.ts';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('');
const MERGES = ['c a', 'ca t</w>', 'd o', 'do g</w>', 'r e', 're d</w>'];

/** vocab.json / merges.txt content: letters (plain and word-final), merges, "!", then BOS/EOS last. */
export function tinyVocab(): { vocab: Record<string, number>; merges: string } {
  const tokens = [...LETTERS, ...LETTERS.map((l) => `${l}</w>`), ...MERGES.map((m) => m.replace(' ', '')), '!', '!</w>'];
  tokens.push('<|startoftext|>', '<|endoftext|>');
  return { vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges: `#version: 0.2\n${MERGES.join('\n')}\n` };
}
export const TINY_VOCAB_SIZE = Object.keys(tinyVocab().vocab).length;

const clip = (hidden: number, act: string, projection?: number): CLIPTextConfig => ({
  vocab_size: TINY_VOCAB_SIZE,
  hidden_size: hidden,
  intermediate_size: 2 * hidden,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  max_position_embeddings: 77,
  hidden_act: act,
  layer_norm_eps: 1e-5,
  projection_dim: projection,
  bos_token_id: 0,
  eos_token_id: 2,
  pad_token_id: 1,
});

const unetCommon = {
  in_channels: 4,
  out_channels: 4,
  layers_per_block: 2,
  norm_num_groups: 8,
  flip_sin_to_cos: true,
  freq_shift: 0,
  act_fn: 'silu',
};

export const TINY_SD1_UNET: UNet2DConditionConfig = {
  ...unetCommon,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  block_out_channels: [32, 48, 48],
  attention_head_dim: 4,
  cross_attention_dim: 32,
};

export const TINY_SDXL_UNET: UNet2DConditionConfig = {
  ...unetCommon,
  down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
  up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
  block_out_channels: [32, 48, 64],
  attention_head_dim: [2, 3, 4],
  transformer_layers_per_block: [1, 1, 2],
  cross_attention_dim: 80,
  use_linear_projection: true,
  addition_embed_type: 'text_time',
  addition_time_embed_dim: 8,
  projection_class_embeddings_input_dim: 40 + 6 * 8,
};

/** Four blocks, so images are 8x the latents as with every real SD VAE. */
export const TINY_VAE: AutoencoderKLConfig = {
  in_channels: 3,
  out_channels: 3,
  down_block_types: Array(4).fill('DownEncoderBlock2D'),
  up_block_types: Array(4).fill('UpDecoderBlock2D'),
  block_out_channels: [8, 8, 16, 16],
  layers_per_block: 1,
  latent_channels: 4,
  norm_num_groups: 4,
  scaling_factor: 0.18215,
};

function save(dir: string, file: string, config: object, m: Module): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  torch.safetensors.save(join(dir, file), m.stateDict());
  m.dispose();
}

function saveTokenizer(dir: string): void {
  const { vocab, merges } = tinyVocab();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(vocab));
  writeFileSync(join(dir, 'merges.txt'), merges);
}

/** Writes a seeded tiny model; `tokenizer: false` leaves the tokenizer folders out. */
export function tinyDiffusersModel(family: 'sd1' | 'sdxl', o: { seed?: number; tokenizer?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), `lyco-tiny-${family}-`));
  torch.manualSeed(o.seed ?? 0);
  const unetConfig = family === 'sdxl' ? TINY_SDXL_UNET : TINY_SD1_UNET;
  save(join(root, 'unet'), 'diffusion_pytorch_model.safetensors', unetConfig, new UNet2DConditionModel(unetConfig));
  save(join(root, 'vae'), 'diffusion_pytorch_model.safetensors', TINY_VAE, new AutoencoderKL(TINY_VAE));
  const encoders: [string, CLIPTextConfig, boolean][] =
    family === 'sdxl'
      ? [
          ['text_encoder', clip(32, 'quick_gelu'), false],
          ['text_encoder_2', clip(48, 'gelu', 40), true],
        ]
      : [['text_encoder', clip(32, 'quick_gelu'), false]];
  for (const [name, config, proj] of encoders) save(join(root, name), 'model.safetensors', config, buildTextEncoder(config, proj));
  if (o.tokenizer !== false) {
    saveTokenizer(join(root, 'tokenizer'));
    if (family === 'sdxl') saveTokenizer(join(root, 'tokenizer_2'));
  }
  mkdirSync(join(root, 'scheduler'));
  writeFileSync(
    join(root, 'scheduler', 'scheduler_config.json'),
    JSON.stringify({ beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', prediction_type: 'epsilon' }),
  );
  return root;
}

/** A kohya LoRA file (lora_down/lora_up/alpha) on a few layers of the tiny SD1 model, non-zero. */
export function tinyLora(path: string, names: Record<string, [out: number, inp: number]>, seed = 1): void {
  const g = new torch.Generator({ seed });
  torch.scope(() => {
    const tensors = new Map<string, torch.Tensor>();
    for (const [name, [out, inp]] of Object.entries(names)) {
      tensors.set(`${name}.lora_down.weight`, torch.randn([2, inp], { generator: g }).mul(0.5));
      tensors.set(`${name}.lora_up.weight`, torch.randn([out, 2], { generator: g }).mul(0.5));
      tensors.set(`${name}.alpha`, torch.tensor(2));
    }
    torch.safetensors.save(path, tensors, { ss_network_module: 'networks.lora' });
  });
}
