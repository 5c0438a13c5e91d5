// Loads a base model from what users have: a single-file .safetensors (LDM layout, converted to
// diffusers names) or a diffusers folder. Weights keep the file's dtype (fp16/bf16 stay so)
// unless a dtype is asked for. Pickle files are refused: unpickling can run arbitrary code.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { withoutInit } from '../nn/index.ts';
import type { DType, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import {
  type Component,
  convertTensors,
  type Family,
  planConversion,
  readShapes,
  textEncoderConfigs,
  unetConfig,
  vaeConfig,
} from './convert/index.ts';
import type { UNet2DConditionConfig } from './unet/config.ts';
import { UNet2DConditionModel } from './unet/unet-2d-condition.ts';
import { AutoencoderKL, type AutoencoderKLConfig } from './vae/autoencoder-kl.ts';

const PICKLE = new Set(['.ckpt', '.pt', '.pth', '.bin', '.pkl']);

export interface LoadOptions {
  /** Cast floating weights to this dtype; default: the file's own floating dtype. */
  dtype?: DType;
  /** Which modules to build (default unet and vae). Text encoder state dicts are always returned. */
  components?: ('unet' | 'vae')[];
  /** Override the built-in full-size configs (single files only). */
  unetConfig?: UNet2DConditionConfig;
  vaeConfig?: AutoencoderKLConfig;
}

export interface LoadedModel {
  path: string;
  /** Known for single files (from the keys); undefined for diffusers folders. */
  family?: Family;
  unet?: UNet2DConditionModel;
  vae?: AutoencoderKL;
  /** diffusers/transformers-named state dicts and configs for the text encoders, by component. */
  textEncoders: Partial<Record<'text_encoder' | 'text_encoder_2', { config: Record<string, unknown>; stateDict: Map<string, Tensor> }>>;
  /** LDM keys not used (schedule buffers, EMA counters, SD2's dropped text block). */
  unused: string[];
  /** Frees the mapped file tensors held by textEncoders (modules are disposed by their owner). */
  release(): void;
}

function refusePickle(path: string): void {
  if (PICKLE.has(extname(path).toLowerCase())) {
    throw new Error(
      `${path}: pickle checkpoints (${extname(path)}) are not loaded because unpickling can run code; convert it to .safetensors first (e.g. with the kohya_ss GUI's "Convert model" tool, or in Python: safetensors.torch.save_file(torch.load(path, weights_only=True)["state_dict"], "model.safetensors"))`,
    );
  }
}

/** The floating dtype most of the state dict's tensors have. */
export function fileDtype(sd: Map<string, Tensor>): DType {
  const counts = new Map<DType, number>();
  for (const t of sd.values()) {
    const d = t.dtype;
    if (d === 'float16' || d === 'bfloat16' || d === 'float32' || d === 'float64') counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'float32';
}

/** Builds without random init, directly in the target dtype (the load writes every weight). */
function build<M extends UNet2DConditionModel | AutoencoderKL>(
  make: () => M,
  sd: Map<string, Tensor>,
  dtype: DType | undefined,
  source: string,
): M {
  const m = withoutInit(make, { dtype: dtype ?? fileDtype(sd) });
  m.loadStateDict(sd, { strict: true, source, copied: torch.safetensors.releaseMappedPages });
  return m;
}

function loadSingleFile(path: string, o: LoadOptions): LoadedModel {
  const file = torch.safetensors.load(path);
  const shapes = readShapes(file);
  const plan = planConversion(shapes, path, undefined, o.unetConfig);
  const family = plan.family;
  const parts = convertTensors(file, plan);
  const want = new Set(o.components ?? ['unet', 'vae']);
  // The converted tensors are views of the mapped file: they, not only the file's own handles,
  // keep it mapped (and its pages in RSS) until disposed, so release() disposes both.
  const release = () => {
    for (const part of Object.values(parts)) for (const t of part.values()) t.dispose();
    file.dispose();
  };
  const result: LoadedModel = { path, family, textEncoders: {}, unused: plan.unused, release };
  if (want.has('unet'))
    result.unet = build(() => new UNet2DConditionModel(o.unetConfig ?? unetConfig(family)), parts.unet, o.dtype, `${path} (unet)`);
  if (want.has('vae')) result.vae = build(() => new AutoencoderKL(o.vaeConfig ?? vaeConfig(family)), parts.vae, o.dtype, `${path} (vae)`);
  const te = textEncoderConfigs(family);
  for (const c of ['text_encoder', 'text_encoder_2'] as const) {
    if (te[c]) result.textEncoders[c] = { config: te[c], stateDict: parts[c as Component] };
  }
  return result;
}

/** A component folder's weights: model.safetensors / diffusion_pytorch_model(.fp16).safetensors. */
function componentWeights(dir: string): string | undefined {
  for (const name of [
    'diffusion_pytorch_model.safetensors',
    'model.safetensors',
    'diffusion_pytorch_model.fp16.safetensors',
    'model.fp16.safetensors',
  ]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  for (const name of ['diffusion_pytorch_model.bin', 'pytorch_model.bin']) if (existsSync(join(dir, name))) refusePickle(join(dir, name));
  return undefined;
}

function loadDiffusersFolder(root: string, o: LoadOptions): LoadedModel {
  const files: torch.safetensors.SafetensorsFile[] = [];
  const readComponent = (
    name: string,
  ): { config: Record<string, unknown>; weights: torch.safetensors.SafetensorsFile; path: string } | undefined => {
    const dir = join(root, name);
    if (!existsSync(join(dir, 'config.json'))) return undefined;
    const path = componentWeights(dir);
    if (!path) throw new Error(`${dir}: no model.safetensors or diffusion_pytorch_model.safetensors in this diffusers component folder`);
    const weights = torch.safetensors.load(path);
    files.push(weights);
    return { config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), weights, path };
  };
  const want = new Set(o.components ?? ['unet', 'vae']);
  const result: LoadedModel = {
    path: root,
    textEncoders: {},
    unused: [],
    release: () => {
      for (const f of files) f.dispose();
    },
  };
  if (!existsSync(join(root, 'unet', 'config.json'))) {
    throw new Error(
      `${root}: not a diffusers model folder (no unet/config.json); pass a folder with unet/, vae/, text_encoder/ or a .safetensors file`,
    );
  }
  if (want.has('unet')) {
    const u = readComponent('unet')!;
    result.unet = build(() => new UNet2DConditionModel(u.config as UNet2DConditionConfig), u.weights, o.dtype, u.path);
    u.weights.dispose();
  }
  if (want.has('vae')) {
    const v = readComponent('vae');
    if (v) {
      result.vae = build(() => new AutoencoderKL(v.config as AutoencoderKLConfig), v.weights, o.dtype, v.path);
      v.weights.dispose();
    }
  }
  for (const c of ['text_encoder', 'text_encoder_2'] as const) {
    const t = readComponent(c);
    if (t) result.textEncoders[c] = { config: t.config, stateDict: t.weights };
  }
  return result;
}

/**
 * Loads SD 1.x / 2.x / XL from a single .safetensors file or a diffusers folder. Errors are one
 * line naming the file: a pickle file, a truncated/corrupt file, a file of another model.
 */
export function loadModel(path: string, o: LoadOptions = {}): LoadedModel {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) return loadDiffusersFolder(path, o);
  refusePickle(path);
  if (extname(path).toLowerCase() !== '.safetensors') {
    throw new Error(
      `${path}: not a .safetensors file or diffusers folder; lyco loads single-file .safetensors checkpoints and diffusers folders`,
    );
  }
  return loadSingleFile(path, o);
}
