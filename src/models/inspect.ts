// `lyco inspect MODEL`: what a base model holds — family (SD1/SD2/SDXL), components and their
// parameter counts — from the file header alone. Each component's module is built from its
// config on the meta device (withoutInit: no memory, no init) and the file's tensors, converted
// to diffusers names, are checked against it, so the counts are those of the real classes.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Module, withoutInit } from '../nn/index.ts';
import type { DType } from '../torch/index.ts';
import { safetensors } from '../torch/index.ts';
import { CLIPTextModel, CLIPTextModelWithProjection, LEGACY_KEYS, parseClipTextConfig } from './clip/index.ts';
import {
  type Component,
  type Family,
  planConversion,
  textEncoderConfigs,
  transformedShape,
  unetConfig,
  vaeConfig,
} from './convert/index.ts';
import type { UNet2DConditionConfig } from './unet/config.ts';
import { UNet2DConditionModel } from './unet/unet-2d-condition.ts';
import { AutoencoderKL, type AutoencoderKLConfig } from './vae/autoencoder-kl.ts';

export const COMPONENTS: Component[] = ['unet', 'vae', 'text_encoder', 'text_encoder_2'];

export interface ComponentInspection {
  name: Component;
  /** Class built from the config (diffusers / transformers name). */
  className: string;
  /** Parameters of the module (buffers excluded), as torch's parameters() counts them. */
  parameters: number;
  /** Of those, the values the file holds. */
  inFile: number;
  /** Dtypes of the file's tensors for this component, with counts. */
  dtypes: Partial<Record<DType, number>>;
  /** Module parameters the file lacks / file tensors the module has no place for / of another shape. */
  missing: string[];
  unexpected: string[];
  mismatched: string[];
}

export interface ModelInspection {
  path: string;
  format: 'single-file' | 'diffusers';
  family: Family;
  components: ComponentInspection[];
  /** Single-file keys that belong to no component (schedule buffers, EMA, SD2's unused block…). */
  unused: number;
  metadata: Record<string, string>;
}

const FAMILY_NAME: Record<Family, string> = { sd1: 'SD1', sd2: 'SD2', sdxl: 'SDXL' };
export const familyName = (f: Family): string => FAMILY_NAME[f];

/** True when a .safetensors holds a Stable Diffusion checkpoint (LDM layout) rather than an adapter. */
export function isCheckpointKeys(keys: Iterable<string>): boolean {
  for (const k of keys) {
    if (/^(model\.diffusion_model|first_stage_model|cond_stage_model|conditioner\.embedders)\./.test(k)) return true;
  }
  return false;
}

/** True for a base model path: a diffusers folder or a single-file checkpoint. */
export function isBaseModel(path: string): boolean {
  if (!existsSync(path)) return false;
  if (statSync(path).isDirectory()) return existsSync(join(path, 'unet', 'config.json'));
  return isCheckpointKeys(safetensors.readHeader(path).tensors.map((t) => t.name));
}

/** A component's module, shape only (meta device). */
function buildMeta(name: Component, config: Record<string, unknown>): Module {
  return withoutInit(
    () => {
      if (name === 'unet') return new UNet2DConditionModel(config as UNet2DConditionConfig);
      if (name === 'vae') return new AutoencoderKL(config as AutoencoderKLConfig);
      const c = parseClipTextConfig(config, `${name} config`);
      const proj = name === 'text_encoder_2' || (c.architectures ?? []).includes('CLIPTextModelWithProjection');
      return proj ? new CLIPTextModelWithProjection(c) : new CLIPTextModel(c);
    },
    { device: 'meta' },
  );
}

function compare(name: Component, module: Module, file: Map<string, { shape: number[]; dtype: DType }>): ComponentInspection {
  const r: ComponentInspection = {
    name,
    className: module.constructor.name,
    parameters: 0,
    inFile: 0,
    dtypes: {},
    missing: [],
    unexpected: [],
    mismatched: [],
  };
  const own = new Map([...module.namedParameters()].map(([k, t]) => [k, t.shape]));
  for (const [k, shape] of own) {
    const n = shape.reduce((a, b) => a * b, 1);
    r.parameters += n;
    const f = file.get(k);
    if (!f) r.missing.push(k);
    else if (f.shape.join() !== shape.join()) r.mismatched.push(`${k}: [${f.shape}] vs [${shape}]`);
    else r.inFile += n;
  }
  for (const [k, f] of file) {
    r.dtypes[f.dtype] = (r.dtypes[f.dtype] ?? 0) + 1;
    if (!own.has(k) && !LEGACY_KEYS.includes(k)) r.unexpected.push(k);
  }
  return r;
}

function inspectSingleFile(path: string): ModelInspection {
  const h = safetensors.readHeader(path);
  const info = new Map(h.tensors.map((t) => [t.name, t]));
  const plan = planConversion(new Map(h.tensors.map((t) => [t.name, t.shape])), path);
  const files = new Map<Component, Map<string, { shape: number[]; dtype: DType }>>();
  for (const m of plan.mappings) {
    const t = info.get(m.ldmKey)!;
    let f = files.get(m.component);
    if (!f) files.set(m.component, (f = new Map()));
    f.set(m.diffusersKey, { shape: transformedShape(t.shape, m.transform), dtype: t.dtype });
  }
  const te = textEncoderConfigs(plan.family);
  const configs: Partial<Record<Component, Record<string, unknown>>> = {
    unet: unetConfig(plan.family),
    vae: vaeConfig(plan.family) as unknown as Record<string, unknown>,
    ...te,
  };
  const components: ComponentInspection[] = [];
  for (const c of COMPONENTS) {
    const cfg = configs[c];
    const f = files.get(c);
    if (!cfg || !f) continue;
    components.push(compare(c, buildMeta(c, cfg), f));
  }
  return { path, format: 'single-file', family: plan.family, components, unused: plan.unused.length, metadata: h.metadata };
}

/** SD1 / SD2 / SDXL from a diffusers UNet config. */
export function familyOfUnetConfig(c: UNet2DConditionConfig): Family {
  if (c.addition_embed_type === 'text_time') return 'sdxl';
  const cross = Array.isArray(c.cross_attention_dim) ? c.cross_attention_dim[0] : c.cross_attention_dim;
  return cross === 1024 ? 'sd2' : 'sd1';
}

function inspectDiffusers(root: string): ModelInspection {
  const components: ComponentInspection[] = [];
  let family: Family = 'sd1';
  for (const c of COMPONENTS) {
    const dir = join(root, c);
    if (!existsSync(join(dir, 'config.json'))) continue;
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    if (c === 'unet') family = familyOfUnetConfig(config as UNet2DConditionConfig);
    const weights = [
      'diffusion_pytorch_model.safetensors',
      'model.safetensors',
      'diffusion_pytorch_model.fp16.safetensors',
      'model.fp16.safetensors',
    ]
      .map((n) => join(dir, n))
      .find((p) => existsSync(p));
    const f = new Map<string, { shape: number[]; dtype: DType }>();
    if (weights) for (const t of safetensors.readHeader(weights).tensors) f.set(t.name, { shape: t.shape, dtype: t.dtype });
    components.push(compare(c, buildMeta(c, config), f));
  }
  return { path: root, format: 'diffusers', family, components, unused: 0, metadata: {} };
}

/** Family, components and parameter counts of a single-file checkpoint or diffusers folder. */
export function inspectModel(path: string): ModelInspection {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  return statSync(path).isDirectory() ? inspectDiffusers(path) : inspectSingleFile(path);
}

export function formatModelInspection(r: ModelInspection): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [`model       ${r.path} (${r.format})`, `family      ${familyName(r.family)}`];
  let total = 0;
  for (const c of r.components) {
    total += c.parameters;
    const dtypes = Object.entries(c.dtypes)
      .map(([d, k]) => `${d} ×${k}`)
      .join(', ');
    lines.push(`${c.name.padEnd(15)} ${n(c.parameters).padStart(13)} parameters  ${c.className}  ${dtypes}`);
    const gaps = [
      c.missing.length ? `${c.missing.length} missing (${c.missing.slice(0, 3).join(', ')})` : '',
      c.unexpected.length ? `${c.unexpected.length} unexpected (${c.unexpected.slice(0, 3).join(', ')})` : '',
      c.mismatched.length ? `${c.mismatched.length} of another shape (${c.mismatched.slice(0, 2).join('; ')})` : '',
    ].filter(Boolean);
    if (gaps.length) lines.push(`${''.padEnd(15)} file: ${gaps.join('; ')}`);
  }
  lines.push(`${'total'.padEnd(15)} ${n(total).padStart(13)} parameters`);
  if (r.unused) lines.push(`unused      ${r.unused} keys outside the components (schedule buffers, EMA…)`);
  return lines.join('\n');
}
