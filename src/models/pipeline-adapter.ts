// Applies an adapter file to a loaded pipeline by merging W + m·ΔW into the live weights
// (src/adapters/merge: every algorithm, as loaders apply it). Merged once, sampling runs at the
// base model's speed. U-Net weights go in under `unet.`, which adapters/keymap also indexes by
// their LDM names, so both kohya namings resolve: diffusers-style (`lora_unet_down_blocks_…`,
// SD1/SD2) and LDM-style (`lora_unet_input_blocks_…`, SDXL).
import { readAdapterFile } from '../adapters/file.ts';
import { mergeAdapter } from '../adapters/merge.ts';
import type { Module } from '../nn/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { UNet2DConditionModel } from './unet/unet-2d-condition.ts';

export interface AdapterTargets {
  unet: UNet2DConditionModel;
  /** One encoder (SD1.x/SD2.x) or two (SDXL). */
  textEncoders: Module[];
}

export interface AppliedAdapter {
  modules: number;
  /** Weights patched (a module may patch weight and bias). */
  tensors: number;
}

const firstLine = (s: string) => s.split('\n')[0];

/** Checkpoint-style names → the live tensors they stand for. */
function liveWeights(t: AdapterTargets): Map<string, Tensor> {
  const live = new Map<string, Tensor>();
  for (const [k, p] of t.unet.namedParameters()) live.set(`unet.${k}`, p);
  t.textEncoders.forEach((te, i) => {
    for (const [k, p] of te.namedParameters()) live.set(`${i === 0 ? 'text_encoder' : 'text_encoder_2'}.${k}`, p);
  });
  return live;
}

/** Throws one line when the adapter's text-encoder naming says it is for the other family. */
function checkFamily(names: string[], encoders: number, path: string): void {
  const sdxlNames = names.some((n) => n.startsWith('lora_te1_') || n.startsWith('lora_te2_'));
  const sdNames = names.some((n) => n.startsWith('lora_te_'));
  if (sdxlNames && encoders < 2)
    throw new Error(`${path}: adapter for SDXL (lora_te1_/lora_te2_ modules) on an SD1.x/SD2.x model; use the model it was trained on`);
  if (sdNames && encoders >= 2)
    throw new Error(`${path}: adapter for SD1.x/SD2.x (lora_te_ modules) on an SDXL model; use the model it was trained on`);
}

/** Merges the adapter at `path` × multiplier into the targets' weights, in place. */
export function applyAdapterFile(t: AdapterTargets, path: string, multiplier: number): AppliedAdapter {
  const file = (() => {
    try {
      return readAdapterFile(path);
    } catch (e) {
      throw new Error(`${path}: not a readable adapter .safetensors (${firstLine((e as Error).message)})`);
    }
  })();
  try {
    checkFamily([...file.modules.keys()], t.textEncoders.length, path);
    const live = liveWeights(t);
    let merged: ReturnType<typeof mergeAdapter>;
    try {
      merged = mergeAdapter(live, file, multiplier);
    } catch (e) {
      throw new Error(`${path}: does not fit this model (${firstLine((e as Error).message)}); an adapter for another base model?`);
    }
    const { patched, report } = merged;
    try {
      if (report.unmatched.length) {
        const few = report.unmatched.slice(0, 3).join(', ');
        throw new Error(
          `${path}: ${report.unmatched.length} of ${file.modules.size} adapter modules match no layer of this model (${few}${report.unmatched.length > 3 ? ', …' : ''}); an adapter for another base model?`,
        );
      }
      torch.noGrad(() => {
        for (const [k, w] of patched) live.get(k)!.copy_(w);
      });
      return { modules: report.merged, tensors: patched.size };
    } finally {
      for (const w of patched.values()) w.dispose();
    }
  } finally {
    file.dispose();
  }
}
