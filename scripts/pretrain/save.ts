// Writes the trained parts as a diffusers StableDiffusionPipeline folder: model_index.json,
// unet/ vae/ (config.json + diffusion_pytorch_model.safetensors), text_encoder/ (config.json +
// model.safetensors), tokenizer/ (vocab.json + merges.txt) and scheduler/ (SD's DDIM config),
// weights in float16 to keep the committed folder small.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CLIPTextModel } from '../../src/models/clip/index.ts';
import type { AutoencoderKL, UNet2DConditionModel } from '../../src/models/index.ts';
import { type BuiltVocab, writeVocabFiles } from '../../src/models/tokenizer/build-vocab.ts';
import type { Module } from '../../src/nn/index.ts';
import * as torch from '../../src/torch/index.ts';

const DIFFUSERS_VERSION = '0.21.4';

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function saveHalf(path: string, m: Module, metadata: Record<string, string>): void {
  torch.scope(() => torch.safetensors.save(path, new Map([...m.stateDict()].map(([k, t]) => [k, t.detach().half()])), metadata));
}

export const SCHEDULER_CONFIG = {
  _class_name: 'DDIMScheduler',
  _diffusers_version: DIFFUSERS_VERSION,
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  prediction_type: 'epsilon',
  clip_sample: false,
  set_alpha_to_one: false,
  steps_offset: 1,
  timestep_spacing: 'leading',
  trained_betas: null,
};

export interface TinyModel {
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  textEncoder: CLIPTextModel;
  vocab: BuiltVocab;
}

export function saveDiffusers(dir: string, m: TinyModel, metadata: Record<string, string>): void {
  for (const sub of ['unet', 'vae', 'text_encoder', 'scheduler']) mkdirSync(join(dir, sub), { recursive: true });
  writeJson(join(dir, 'model_index.json'), {
    _class_name: 'StableDiffusionPipeline',
    _diffusers_version: DIFFUSERS_VERSION,
    feature_extractor: [null, null],
    requires_safety_checker: false,
    safety_checker: [null, null],
    scheduler: ['diffusers', 'DDIMScheduler'],
    text_encoder: ['transformers', 'CLIPTextModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae: ['diffusers', 'AutoencoderKL'],
  });
  writeJson(join(dir, 'unet', 'config.json'), { ...m.unet.config, _diffusers_version: DIFFUSERS_VERSION });
  saveHalf(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), m.unet, metadata);
  writeJson(join(dir, 'vae', 'config.json'), { ...m.vae.config, _diffusers_version: DIFFUSERS_VERSION });
  saveHalf(join(dir, 'vae', 'diffusion_pytorch_model.safetensors'), m.vae, metadata);
  writeJson(join(dir, 'text_encoder', 'config.json'), { ...m.textEncoder.config, torch_dtype: 'float16' });
  saveHalf(join(dir, 'text_encoder', 'model.safetensors'), m.textEncoder, { format: 'pt', ...metadata });
  writeVocabFiles(join(dir, 'tokenizer'), m.vocab);
  writeJson(join(dir, 'scheduler', 'scheduler_config.json'), SCHEDULER_CONFIG);
}
