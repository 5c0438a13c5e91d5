// A tiny SD-architecture model (random UNet / VAE / CLIP with small configs, saved as a diffusers
// folder), a tiny CLIP tokenizer and a small generated dataset, built in a temp dir so the
// training tests run anywhere (no golden files needed).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { PyRandom } from '../../src/data/py-random.ts';
import { buildTextEncoder, parseClipTextConfig } from '../../src/models/clip/index.ts';
import { AutoencoderKL, type AutoencoderKLConfig, type UNet2DConditionConfig, UNet2DConditionModel } from '../../src/models/index.ts';
import { BYTE_UNICODE_ORDER } from '../../src/models/tokenizer/byte-unicode.ts';
import * as torch from '../../src/torch/index.ts';

export const TINY_UNET: UNet2DConditionConfig = {
  _class_name: 'UNet2DConditionModel',
  in_channels: 4,
  out_channels: 4,
  down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
  mid_block_type: 'UNetMidBlock2DCrossAttn',
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
  block_out_channels: [16, 32],
  layers_per_block: 1,
  norm_num_groups: 8,
  norm_eps: 1e-5,
  cross_attention_dim: 32,
  attention_head_dim: 2,
  use_linear_projection: false,
  flip_sin_to_cos: true,
  freq_shift: 0,
  act_fn: 'silu',
  downsample_padding: 1,
  mid_block_scale_factor: 1,
  sample_size: 8,
};

// Three blocks: latents are 1/4 of the image side (32x32 images → 8x8 latents).
export const TINY_VAE: AutoencoderKLConfig = {
  _class_name: 'AutoencoderKL',
  in_channels: 3,
  out_channels: 3,
  down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
  up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
  block_out_channels: [8, 8, 16],
  layers_per_block: 1,
  latent_channels: 4,
  norm_num_groups: 4,
  act_fn: 'silu',
  sample_size: 32,
  scaling_factor: 0.18215,
} as AutoencoderKLConfig;

/** A CLIP vocabulary of the 512 byte symbols, a few merges, then BOS and EOS (EOS has the top id, as in CLIP). */
function tinyVocab(): { vocab: Record<string, number>; merges: string[] } {
  const tokens: string[] = BYTE_UNICODE_ORDER.map(([, c]) => c);
  for (const [, c] of BYTE_UNICODE_ORDER) tokens.push(`${c}</w>`);
  const merges = ['s k', 'sk s</w>', 'c a', 'ca t</w>', 'r e', 're d</w>', 'b l', 'bl u', 'blu e</w>'];
  for (const m of merges) tokens.push(m.replace(' ', ''));
  tokens.push('<|startoftext|>', '<|endoftext|>');
  return { vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges };
}

export const TINY_CLIP = {
  architectures: ['CLIPTextModel'],
  model_type: 'clip_text_model',
  vocab_size: 0, // set from the vocabulary
  hidden_size: 32,
  intermediate_size: 64,
  projection_dim: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  max_position_embeddings: 77,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
  pad_token_id: 1,
  bos_token_id: 0,
  eos_token_id: 2,
};

function saveModule(dir: string, file: string, config: object, sd: Map<string, torch.Tensor>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 1));
  torch.safetensors.save(join(dir, file), sd);
}

/** Writes a random-init diffusers folder with tokenizer/ at `root`; returns it. */
export function writeTinyModel(root: string, seed = 1234): string {
  torch.manualSeed(seed);
  const { vocab, merges } = tinyVocab();
  const clip = { ...TINY_CLIP, vocab_size: Object.keys(vocab).length };
  const unet = new UNet2DConditionModel(TINY_UNET);
  const vae = new AutoencoderKL(TINY_VAE);
  const te = buildTextEncoder(parseClipTextConfig(clip), false);
  saveModule(join(root, 'unet'), 'diffusion_pytorch_model.safetensors', TINY_UNET, unet.stateDict());
  saveModule(join(root, 'vae'), 'diffusion_pytorch_model.safetensors', TINY_VAE, vae.stateDict());
  saveModule(join(root, 'text_encoder'), 'model.safetensors', clip, te.stateDict());
  for (const m of [unet, vae, te]) m.dispose();
  mkdirSync(join(root, 'tokenizer'), { recursive: true });
  writeFileSync(join(root, 'tokenizer', 'vocab.json'), JSON.stringify(vocab));
  writeFileSync(join(root, 'tokenizer', 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  writeFileSync(join(root, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionPipeline' }));
  return root;
}

// SDXL in miniature: a text_time UNet (added conditioning = encoder 2's projection + 6 size
// numbers × addition_time_embed_dim) whose cross-attention width is both encoders' widths.
export const TINY_SDXL_CLIP_G = { ...TINY_CLIP, architectures: ['CLIPTextModelWithProjection'], hidden_act: 'gelu', projection_dim: 24 };

export const TINY_SDXL_UNET: UNet2DConditionConfig = {
  ...TINY_UNET,
  down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D'],
  up_block_types: ['CrossAttnUpBlock2D', 'UpBlock2D'],
  attention_head_dim: [2, 4],
  transformer_layers_per_block: [1, 2],
  use_linear_projection: true,
  cross_attention_dim: TINY_CLIP.hidden_size + TINY_SDXL_CLIP_G.hidden_size,
  addition_embed_type: 'text_time',
  addition_time_embed_dim: 4,
  projection_class_embeddings_input_dim: TINY_SDXL_CLIP_G.projection_dim + 6 * 4,
} as UNet2DConditionConfig;

/** A random-init SDXL-layout diffusers folder (two encoders, two tokenizers) at `root`; returns it. */
export function writeTinySdxlModel(root: string, seed = 4321): string {
  torch.manualSeed(seed);
  const { vocab, merges } = tinyVocab();
  const n = Object.keys(vocab).length;
  const clipL = { ...TINY_CLIP, vocab_size: n };
  const clipG = { ...TINY_SDXL_CLIP_G, vocab_size: n };
  const vaeCfg = { ...TINY_VAE, scaling_factor: 0.13025 };
  const unet = new UNet2DConditionModel(TINY_SDXL_UNET);
  const vae = new AutoencoderKL(vaeCfg);
  const te1 = buildTextEncoder(parseClipTextConfig(clipL), false);
  const te2 = buildTextEncoder(parseClipTextConfig(clipG), true);
  saveModule(join(root, 'unet'), 'diffusion_pytorch_model.safetensors', TINY_SDXL_UNET, unet.stateDict());
  saveModule(join(root, 'vae'), 'diffusion_pytorch_model.safetensors', vaeCfg, vae.stateDict());
  saveModule(join(root, 'text_encoder'), 'model.safetensors', clipL, te1.stateDict());
  saveModule(join(root, 'text_encoder_2'), 'model.safetensors', clipG, te2.stateDict());
  for (const m of [unet, vae, te1, te2]) m.dispose();
  for (const dir of ['tokenizer', 'tokenizer_2']) {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'vocab.json'), JSON.stringify(vocab));
    writeFileSync(join(root, dir, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  }
  writeFileSync(join(root, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionXLPipeline' }));
  return root;
}

/** `<root>/<repeats>_subject/` with `n` 32x32 PNGs and .caption files; returns root. */
export async function writeTinyDataset(
  root: string,
  o: { n?: number; repeats?: number; size?: number; seed?: number } = {},
): Promise<string> {
  const n = o.n ?? 3;
  const size = o.size ?? 32;
  const dir = join(root, `${o.repeats ?? 1}_subject`);
  mkdirSync(dir, { recursive: true });
  const rng = new PyRandom(o.seed ?? 5);
  const words = ['red', 'blue', 'cat', 'sks', 'sky'];
  for (let i = 0; i < n; i++) {
    const data = Buffer.alloc(size * size * 3);
    const c0 = [rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)];
    const c1 = [rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)];
    const q = rng.randint(4, size / 2);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const inside = x >= q && y >= q && x < size - q / 2 && y < size - q / 2;
        for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = inside ? c1[c] : (c0[c] + x * 3) % 256;
      }
    await sharp(data, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(join(dir, `img${i}.png`));
    const caption = ['sks', words[rng.randint(0, 4)], words[rng.randint(0, 4)]].join(', ');
    writeFileSync(join(dir, `img${i}.caption`), caption);
  }
  return root;
}

/** sd-scripts options that shrink a guide preset to the tiny model (buckets at 32 px). */
export const TINY_ARGS = ['--resolution', '32,32', '--min_bucket_reso', '32', '--max_bucket_reso', '64', '--bucket_reso_steps', '32'];
