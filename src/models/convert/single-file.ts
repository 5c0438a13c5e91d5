// Detects which model a single-file checkpoint holds and plans (names + shapes only) or applies
// its conversion to diffusers' per-component state dicts.
import type { Tensor } from '../../torch/index.ts';
import type { UNet2DConditionConfig } from '../unet/config.ts';
import { type Family, textEncoderConfigs, unetConfig } from './configs.ts';
import {
  type Component,
  clipKey,
  type KeyMapping,
  LAYOUTS,
  openClipKeys,
  type Transform,
  unetKey,
  unetLayout,
  vaeKey,
} from './ldm-keys.ts';

export class CheckpointFormatError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'CheckpointFormatError';
  }
}

/** Names and shapes of a state dict (no data read). */
export function readShapes(tensors: Map<string, Tensor>): Map<string, number[]> {
  return new Map([...tensors].map(([k, t]) => [k, t.shape]));
}

/** SD1 / SD2 / SDXL from the keys (and one shape: the cross-attention width of the UNet). */
export function detectFamily(shapes: Map<string, number[]>, path: string): Family {
  const has = (k: string) => shapes.has(k);
  if (
    has('conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight') ||
    has('model.diffusion_model.label_emb.0.0.weight')
  ) {
    return 'sdxl';
  }
  if (has('cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight')) return 'sd2';
  const toK = shapes.get('model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight');
  if (toK) {
    if (toK[1] === 768) return 'sd1';
    if (toK[1] === 1024) return 'sd2';
    throw new CheckpointFormatError(
      path,
      `UNet cross-attention width ${toK[1]} is not SD1 (768), SD2 (1024) or SDXL; not a supported Stable Diffusion checkpoint`,
    );
  }
  const sample = [...shapes.keys()].slice(0, 3).join(', ');
  throw new CheckpointFormatError(
    path,
    `not a Stable Diffusion 1.x/2.x/XL single-file checkpoint (no model.diffusion_model.* UNet keys; first keys: ${sample || 'none'}); pass a full SD checkpoint or a diffusers folder`,
  );
}

export interface ConversionPlan {
  family: Family;
  mappings: KeyMapping[];
  /** LDM keys that were not converted (schedule buffers, EMA, SD2's unused last text block...). */
  unused: string[];
}

/** Maps every key of the file to diffusers names, without touching tensor data. */
export function planConversion(
  shapes: Map<string, number[]>,
  path: string,
  family = detectFamily(shapes, path),
  unet: UNet2DConditionConfig = unetConfig(family),
): ConversionPlan {
  const layout = LAYOUTS[family];
  const ul = unetLayout(unet);
  const te = textEncoderConfigs(family);
  const mappings: KeyMapping[] = [];
  const unused: string[] = [];
  const same: Transform = { kind: 'same' };
  for (const ldmKey of shapes.keys()) {
    const found: KeyMapping[] = [];
    for (const [component, prefix] of Object.entries(layout.prefixes) as [Component, string][]) {
      if (!ldmKey.startsWith(prefix)) continue;
      const key = ldmKey.slice(prefix.length);
      if (component === 'unet') {
        const d = unetKey(ul, key);
        if (d) found.push({ component, ldmKey, diffusersKey: d, transform: same });
      } else if (component === 'vae') {
        const d = vaeKey(key);
        if (d) found.push({ component, ldmKey, diffusersKey: d[0], transform: d[1] });
      } else if (family === 'sd1' || component === 'text_encoder_2' || (family === 'sdxl' && component === 'text_encoder')) {
        if (component === 'text_encoder' && family !== 'sd2') {
          found.push({ component, ldmKey, diffusersKey: clipKey(key), transform: same });
        } else {
          const c = te[component] as { hidden_size: number; num_hidden_layers: number };
          for (const [d, t] of openClipKeys(key, c.hidden_size, c.num_hidden_layers, true))
            found.push({ component, ldmKey, diffusersKey: d, transform: t });
        }
      } else {
        // SD2's OpenCLIP-H: diffusers keeps 23 blocks and no projection.
        const c = te.text_encoder as { hidden_size: number; num_hidden_layers: number };
        for (const [d, t] of openClipKeys(key, c.hidden_size, c.num_hidden_layers, false))
          found.push({ component, ldmKey, diffusersKey: d, transform: t });
      }
    }
    if (found.length === 0) unused.push(ldmKey);
    mappings.push(...found);
  }
  return { family, mappings, unused };
}

/** The shape a transform produces from the LDM shape. */
export function transformedShape(shape: number[], t: Transform): number[] {
  switch (t.kind) {
    case 'same':
      return shape;
    case 'squeeze1x1':
      return shape.length === 4 ? shape.slice(0, 2) : shape;
    case 'rows':
      return [t.end - t.start, ...shape.slice(1)];
    case 'transpose':
      return [shape[1], shape[0]];
  }
}

/** Applies one transform as a view where possible (the loader copies into the module). */
export function applyTransform(x: Tensor, t: Transform): Tensor {
  switch (t.kind) {
    case 'same':
      return x;
    case 'squeeze1x1':
      return x.ndim === 4 ? x.reshape(x.shape[0], x.shape[1]) : x;
    case 'rows':
      return x.narrow(0, t.start, t.end - t.start);
    case 'transpose':
      return x.t();
  }
}

/** Per-component diffusers state dicts (views of the file's tensors). */
export function convertTensors(tensors: Map<string, Tensor>, plan: ConversionPlan): Record<Component, Map<string, Tensor>> {
  const out = { unet: new Map(), vae: new Map(), text_encoder: new Map(), text_encoder_2: new Map() } as Record<
    Component,
    Map<string, Tensor>
  >;
  for (const m of plan.mappings) out[m.component].set(m.diffusersKey, applyTransform(tensors.get(m.ldmKey)!, m.transform));
  return out;
}
