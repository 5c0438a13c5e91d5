// Single-file (LDM / "original") checkpoint names → diffusers names, by rule rather than table:
// UNet input/middle/output blocks, VAE encoder/decoder, OpenAI CLIP (prefix only) and OpenCLIP
// (renamed, attn.in_proj split into q/k/v, text_projection transposed).
import type { UNet2DConditionConfig } from '../unet/config.ts';
import type { Family } from './configs.ts';

export type Component = 'unet' | 'vae' | 'text_encoder' | 'text_encoder_2';

/** How the diffusers tensor is cut from the LDM one. */
export type Transform =
  | { kind: 'same' }
  /** LDM 1x1 conv weight → Linear weight (VAE mid attention). */
  | { kind: 'squeeze1x1' }
  /** Rows [start, end) of dim 0 (OpenCLIP in_proj → q/k/v). */
  | { kind: 'rows'; start: number; end: number }
  | { kind: 'transpose' };

export interface KeyMapping {
  component: Component;
  ldmKey: string;
  diffusersKey: string;
  transform: Transform;
}

export interface LdmLayout {
  family: Family;
  prefixes: Partial<Record<Component, string>>;
}

export const LAYOUTS: Record<Family, LdmLayout> = {
  sd1: {
    family: 'sd1',
    prefixes: { unet: 'model.diffusion_model.', vae: 'first_stage_model.', text_encoder: 'cond_stage_model.transformer.' },
  },
  sd2: { family: 'sd2', prefixes: { unet: 'model.diffusion_model.', vae: 'first_stage_model.', text_encoder: 'cond_stage_model.model.' } },
  sdxl: {
    family: 'sdxl',
    prefixes: {
      unet: 'model.diffusion_model.',
      vae: 'first_stage_model.',
      text_encoder: 'conditioner.embedders.0.transformer.',
      text_encoder_2: 'conditioner.embedders.1.model.',
    },
  },
};

/** What the UNet rules need from the config: layers per block, which blocks have attention. */
export interface UNetLayout {
  layers: number;
  downAttn: boolean[];
  upAttn: boolean[];
}

export function unetLayout(c: UNet2DConditionConfig): UNetLayout {
  const layers = typeof c.layers_per_block === 'number' ? c.layers_per_block : c.layers_per_block[0];
  return {
    layers,
    downAttn: c.down_block_types.map((t) => t.startsWith('CrossAttn')),
    upAttn: c.up_block_types.map((t) => t.startsWith('CrossAttn')),
  };
}

const RESNET_PARTS: Record<string, string> = {
  'in_layers.0': 'norm1',
  'in_layers.2': 'conv1',
  'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2',
  'out_layers.3': 'conv2',
  skip_connection: 'conv_shortcut',
};

function resnetRest(rest: string): string | null {
  for (const [from, to] of Object.entries(RESNET_PARTS)) if (rest.startsWith(`${from}.`)) return to + rest.slice(from.length);
  return null;
}

/** UNet key without prefix → diffusers name (null when it is not a UNet weight). */
export function unetKey(s: UNetLayout, key: string): string | null {
  const fixed: Record<string, string> = {
    'time_embed.0.': 'time_embedding.linear_1.',
    'time_embed.2.': 'time_embedding.linear_2.',
    'label_emb.0.0.': 'add_embedding.linear_1.',
    'label_emb.0.2.': 'add_embedding.linear_2.',
    'input_blocks.0.0.': 'conv_in.',
    'out.0.': 'conv_norm_out.',
    'out.2.': 'conv_out.',
  };
  for (const [from, to] of Object.entries(fixed)) if (key.startsWith(from)) return to + key.slice(from.length);

  let m = /^input_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const i = Number(m[1]) - 1;
    const block = Math.floor(i / (s.layers + 1));
    const j = i % (s.layers + 1);
    const [sub, rest] = [Number(m[2]), m[3]];
    if (j === s.layers) return rest.startsWith('op.') ? `down_blocks.${block}.downsamplers.0.conv.${rest.slice(3)}` : null;
    if (sub === 0) {
      const r = resnetRest(rest);
      return r ? `down_blocks.${block}.resnets.${j}.${r}` : null;
    }
    return sub === 1 && s.downAttn[block] ? `down_blocks.${block}.attentions.${j}.${rest}` : null;
  }
  m = /^middle_block\.(\d)\.(.+)$/.exec(key);
  if (m) {
    const [sub, rest] = [Number(m[1]), m[2]];
    if (sub === 1) return `mid_block.attentions.0.${rest}`;
    const r = resnetRest(rest);
    return r ? `mid_block.resnets.${sub / 2}.${r}` : null;
  }
  m = /^output_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const i = Number(m[1]);
    const block = Math.floor(i / (s.layers + 1));
    const j = i % (s.layers + 1);
    const [sub, rest] = [Number(m[2]), m[3]];
    if (sub === 0) {
      const r = resnetRest(rest);
      return r ? `up_blocks.${block}.resnets.${j}.${r}` : null;
    }
    // The upsampler follows the resnet (and the attention, if any) in the block's last layer.
    const upsamplerSub = s.upAttn[block] ? 2 : 1;
    if (j === s.layers && sub === upsamplerSub && rest.startsWith('conv.')) return `up_blocks.${block}.upsamplers.0.${rest}`;
    return sub === 1 && s.upAttn[block] ? `up_blocks.${block}.attentions.${j}.${rest}` : null;
  }
  return null;
}

/** VAE key without prefix → [diffusers name, transform]. */
export function vaeKey(key: string): [string, Transform] | null {
  const same: Transform = { kind: 'same' };
  const numUp = 4;
  const resnet = (rest: string) => rest.replace(/^nin_shortcut\./, 'conv_shortcut.');
  let m = /^(encoder|decoder)\.(conv_in|conv_out)\.(.+)$/.exec(key);
  if (m) return [`${m[1]}.${m[2]}.${m[3]}`, same];
  m = /^(encoder|decoder)\.norm_out\.(.+)$/.exec(key);
  if (m) return [`${m[1]}.conv_norm_out.${m[2]}`, same];
  m = /^(quant_conv|post_quant_conv)\.(.+)$/.exec(key);
  if (m) return [key, same];
  m = /^encoder\.down\.(\d+)\.block\.(\d+)\.(.+)$/.exec(key);
  if (m) return [`encoder.down_blocks.${m[1]}.resnets.${m[2]}.${resnet(m[3])}`, same];
  m = /^encoder\.down\.(\d+)\.downsample\.conv\.(.+)$/.exec(key);
  if (m) return [`encoder.down_blocks.${m[1]}.downsamplers.0.conv.${m[2]}`, same];
  // LDM numbers decoder levels from the bottom (up.3 is the first block diffusers runs).
  m = /^decoder\.up\.(\d+)\.block\.(\d+)\.(.+)$/.exec(key);
  if (m) return [`decoder.up_blocks.${numUp - 1 - Number(m[1])}.resnets.${m[2]}.${resnet(m[3])}`, same];
  m = /^decoder\.up\.(\d+)\.upsample\.conv\.(.+)$/.exec(key);
  if (m) return [`decoder.up_blocks.${numUp - 1 - Number(m[1])}.upsamplers.0.conv.${m[2]}`, same];
  m = /^(encoder|decoder)\.mid\.block_(\d)\.(.+)$/.exec(key);
  if (m) return [`${m[1]}.mid_block.resnets.${Number(m[2]) - 1}.${resnet(m[3])}`, same];
  m = /^(encoder|decoder)\.mid\.attn_1\.(norm|q|k|v|proj_out)\.(weight|bias)$/.exec(key);
  if (m) {
    const part = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' }[m[2]]!;
    const t: Transform = m[2] !== 'norm' && m[3] === 'weight' ? { kind: 'squeeze1x1' } : same;
    return [`${m[1]}.mid_block.attentions.0.${part}.${m[3]}`, t];
  }
  return null;
}

/** OpenAI CLIP-L as saved by transformers: the names are diffusers' already (older files lack `text_model.`). */
export function clipKey(key: string): string {
  return key.startsWith('text_model.') ? key : `text_model.${key}`;
}

const OPENCLIP_PARTS: Record<string, string> = {
  ln_1: 'layer_norm1',
  ln_2: 'layer_norm2',
  'mlp.c_fc': 'mlp.fc1',
  'mlp.c_proj': 'mlp.fc2',
  'attn.out_proj': 'self_attn.out_proj',
};

/**
 * OpenCLIP text tower → transformers CLIPTextModel(WithProjection) names; one LDM key can give
 * several (in_proj → q, k, v). `layers` drops blocks beyond the config (SD2 keeps 23 of 24).
 */
export function openClipKeys(key: string, width: number, layers: number, withProjection: boolean): [string, Transform][] {
  const same: Transform = { kind: 'same' };
  if (key === 'positional_embedding') return [['text_model.embeddings.position_embedding.weight', same]];
  if (key === 'token_embedding.weight') return [['text_model.embeddings.token_embedding.weight', same]];
  let m = /^ln_final\.(weight|bias)$/.exec(key);
  if (m) return [[`text_model.final_layer_norm.${m[1]}`, same]];
  if (key === 'text_projection') return withProjection ? [['text_projection.weight', { kind: 'transpose' }]] : [];
  m = /^transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)$/.exec(key);
  if (m) {
    if (Number(m[1]) >= layers) return [];
    const layer = `text_model.encoder.layers.${m[1]}`;
    return (['q', 'k', 'v'] as const).map((p, i) => [
      `${layer}.self_attn.${p}_proj.${m![2]}`,
      { kind: 'rows', start: i * width, end: (i + 1) * width },
    ]);
  }
  m = /^transformer\.resblocks\.(\d+)\.(.+)\.(weight|bias)$/.exec(key);
  if (m && Number(m[1]) < layers) {
    const layer = `text_model.encoder.layers.${m[1]}`;
    const part = OPENCLIP_PARTS[m[2]];
    return part ? [[`${layer}.${part}.${m[3]}`, same]] : [];
  }
  return [];
}
