// diffusers UNet parameter names → LDM (single-file / sd-scripts SDXL) names: the inverse of
// convert/ldm-keys.ts unetKey. kohya names SDXL U-Net adapters after the LDM module paths
// (`lora_unet_input_blocks_4_1_…`), so merging one onto a diffusers-named model needs both.
import type { UNetLayout } from './convert/ldm-keys.ts';

const FIXED: [string, string][] = [
  ['time_embedding.linear_1.', 'time_embed.0.'],
  ['time_embedding.linear_2.', 'time_embed.2.'],
  ['add_embedding.linear_1.', 'label_emb.0.0.'],
  ['add_embedding.linear_2.', 'label_emb.0.2.'],
  ['conv_in.', 'input_blocks.0.0.'],
  ['conv_norm_out.', 'out.0.'],
  ['conv_out.', 'out.2.'],
];

const RESNET: Record<string, string> = {
  norm1: 'in_layers.0',
  conv1: 'in_layers.2',
  time_emb_proj: 'emb_layers.1',
  norm2: 'out_layers.0',
  conv2: 'out_layers.3',
  conv_shortcut: 'skip_connection',
};

function resnet(rest: string): string | null {
  const [part, ...tail] = rest.split('.');
  return RESNET[part] ? [RESNET[part], ...tail].join('.') : null;
}

/** The LDM name of a diffusers UNet key (without `model.diffusion_model.`), or null. */
export function unetLdmKey(s: UNetLayout, key: string): string | null {
  for (const [from, to] of FIXED) if (key.startsWith(from)) return to + key.slice(from.length);
  const n = s.layers + 1;
  let m = /^down_blocks\.(\d+)\.(resnets|attentions|downsamplers)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const [b, kind, j, rest] = [Number(m[1]), m[2], Number(m[3]), m[4]];
    if (kind === 'downsamplers') return rest.startsWith('conv.') ? `input_blocks.${(b + 1) * n}.0.op.${rest.slice(5)}` : null;
    const i = 1 + b * n + j;
    if (kind === 'attentions') return `input_blocks.${i}.1.${rest}`;
    const r = resnet(rest);
    return r ? `input_blocks.${i}.0.${r}` : null;
  }
  m = /^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    if (m[1] === 'attentions') return `middle_block.1.${m[3]}`;
    const r = resnet(m[3]);
    return r ? `middle_block.${2 * Number(m[2])}.${r}` : null;
  }
  m = /^up_blocks\.(\d+)\.(resnets|attentions|upsamplers)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const [b, kind, j, rest] = [Number(m[1]), m[2], Number(m[3]), m[4]];
    if (kind === 'upsamplers') return `output_blocks.${b * n + s.layers}.${s.upAttn[b] ? 2 : 1}.${rest}`;
    const i = b * n + j;
    if (kind === 'attentions') return `output_blocks.${i}.1.${rest}`;
    const r = resnet(rest);
    return r ? `output_blocks.${i}.0.${r}` : null;
  }
  return null;
}
