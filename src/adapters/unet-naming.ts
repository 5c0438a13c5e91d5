// Which U-Net path an adapter's name is built from. kohya names SDXL adapters after sd-scripts'
// own SDXL U-Net, which has the SGM / LDM layout (`input_blocks.4.1…`), while lyco's U-Net has
// diffusers paths (`down_blocks.1.attentions.0…`); SD1/SD2 adapters keep diffusers names
// (spec §3.2). The path mapping itself is the models layer's (unet-ldm-names.ts).
import type { UNetLayout } from '../models/convert/ldm-keys.ts';
import { unetLdmKey } from '../models/unet-ldm-names.ts';
import type { Module } from '../nn/index.ts';

/** The SGM path of a diffusers U-Net module path, or undefined (not a diffusers path). */
export function sgmPath(path: string, layout: UNetLayout): string | undefined {
  return unetLdmKey(layout, `${path}.weight`)?.slice(0, -'.weight'.length);
}

/** The block layout read off diffusers module paths or state-dict keys (undefined if none are). */
export function unetLayoutFromPaths(paths: Iterable<string>): UNetLayout | undefined {
  let maxRes = -1;
  let blocks = 0;
  const downAttn = new Set<number>();
  const upAttn = new Set<number>();
  for (const p of paths) {
    let m: RegExpExecArray | null;
    if ((m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)(\.|$)/.exec(p))) {
      blocks = Math.max(blocks, Number(m[1]) + 1);
      if (m[2] === 'attentions') downAttn.add(Number(m[1]));
      else if (m[1] === '0') maxRes = Math.max(maxRes, Number(m[3]));
    }
    if ((m = /^up_blocks\.(\d+)\.attentions\./.exec(p))) upAttn.add(Number(m[1]));
  }
  if (maxRes < 0) return undefined;
  const idx = [...Array(blocks).keys()];
  return { layers: maxRes + 1, downAttn: idx.map((i) => downAttn.has(i)), upAttn: idx.map((i) => upAttn.has(i)) };
}

/** The layout of a U-Net module tree with diffusers paths. */
export function unetLayoutOf(unet: Module): UNetLayout | undefined {
  return unetLayoutFromPaths([...unet.namedModules()].map(([p]) => p));
}

/** True for a U-Net kohya names in SGM form: SDXL (its text_time added embedding). */
export function usesSgmNames(unet: Module): boolean {
  const cfg = (unet as unknown as { config?: { addition_embed_type?: string | null } }).config;
  return cfg?.addition_embed_type === 'text_time';
}
