// The base weight each adapter module patches, from what users have: a single-file checkpoint
// (LDM names, converted to diffusers names as views of the mapped file, so OpenCLIP's fused
// in_proj is split into q/k/v), a diffusers folder, or a bare diffusers / LDM state dict.
// Nothing is read until a weight is used.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { convertTensors, type Family, planConversion, readShapes } from '../models/convert/index.ts';
import { isCheckpointKeys } from '../models/inspect.ts';
import type { Tensor } from '../torch/index.ts';
import { safetensors } from '../torch/index.ts';
import { loraKeyIndex, resolveModule } from './keymap.ts';

export interface BaseWeights {
  path: string;
  family?: Family;
  /** The weight (and bias) of the layer `loraName` names, or undefined. */
  layer(loraName: string): { weight: Tensor; bias?: Tensor } | undefined;
  dispose(): void;
}

const FILES = [
  'diffusion_pytorch_model.safetensors',
  'model.safetensors',
  'diffusion_pytorch_model.fp16.safetensors',
  'model.fp16.safetensors',
];

export function openBaseWeights(path: string): BaseWeights {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  const opened: safetensors.SafetensorsFile[] = [];
  const all = new Map<string, Tensor>();
  let family: Family | undefined;
  if (statSync(path).isDirectory()) {
    for (const c of ['unet', 'text_encoder', 'text_encoder_2']) {
      const f = FILES.map((n) => join(path, c, n)).find((p) => existsSync(p));
      if (!f) continue;
      const file = safetensors.load(f);
      opened.push(file);
      for (const [k, t] of file) all.set(`${c}.${k}`, t);
    }
    if (!opened.length) throw new Error(`${path}: not a diffusers model folder (no unet/ or text_encoder/ weights)`);
  } else {
    const file = safetensors.load(path);
    opened.push(file);
    if (isCheckpointKeys(file.keys())) {
      const plan = planConversion(readShapes(file), path);
      family = plan.family;
      const parts = convertTensors(file, plan);
      for (const c of ['unet', 'text_encoder', 'text_encoder_2'] as const) for (const [k, t] of parts[c]) all.set(`${c}.${k}`, t);
    } else {
      for (const [k, t] of file) all.set(k, t);
    }
  }
  const index = loraKeyIndex(all.keys());
  return {
    path,
    family,
    layer(loraName) {
      const stem = resolveModule(index, loraName);
      const weight = stem ? all.get(`${stem}.weight`) : undefined;
      return weight ? { weight, bias: all.get(`${stem}.bias`) } : undefined;
    },
    dispose() {
      // Converted views (q/k/v rows, transposes) are tensors of their own; file tensors go with their file.
      const own = new Set(opened.flatMap((f) => [...f.values()]));
      for (const t of all.values()) if (!own.has(t)) t.dispose();
      for (const f of opened) f.dispose();
    },
  };
}
