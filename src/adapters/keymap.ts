// Which checkpoint weight an adapter module patches. A checkpoint may be a diffusers U-Net /
// text encoder (`down_blocks.0…`, `text_model…`, optionally under `unet.` / `text_encoder.`), or a
// single-file LDM checkpoint (`model.diffusion_model.input_blocks…`,
// `cond_stage_model.transformer.text_model…`, SDXL `conditioner.embedders.0.transformer…`).
// kohya's diffusers-style U-Net names are mapped to LDM names with A1111's rules (spec §5.1).

import { sgmPath, unetLayoutFromPaths } from './unet-naming.ts';

const RESNET: Record<string, string> = {
  conv1: 'in_layers_2',
  conv2: 'out_layers_3',
  norm1: 'in_layers_0',
  norm2: 'out_layers_0',
  time_emb_proj: 'emb_layers_1',
  conv_shortcut: 'skip_connection',
};

/** A kohya diffusers-style U-Net name body (after `lora_unet_`) in LDM form (`input_blocks_4_1_…`), or undefined. */
export function diffusersToCompvis(body: string): string | undefined {
  let m: RegExpExecArray | null;
  if (body === 'conv_in') return 'input_blocks_0_0';
  if (body === 'conv_out') return 'out_2';
  if ((m = /^time_embedding_linear_(\d+)$/.exec(body))) return `time_embed_${Number(m[1]) * 2 - 2}`;
  const rest = (kind: string, r: string) =>
    kind === 'resnets' ? r.replace(/^(conv1|conv2|norm1|norm2|time_emb_proj|conv_shortcut)/, (x) => RESNET[x]) : r;
  if ((m = /^down_blocks_(\d+)_(attentions|resnets)_(\d+)_(.+)$/.exec(body)))
    return `input_blocks_${1 + 3 * Number(m[1]) + Number(m[3])}_${m[2] === 'attentions' ? 1 : 0}_${rest(m[2], m[4])}`;
  if ((m = /^mid_block_(attentions|resnets)_(\d+)_(.+)$/.exec(body)))
    return `middle_block_${m[1] === 'attentions' ? 1 : 2 * Number(m[2])}_${rest(m[1], m[3])}`;
  if ((m = /^up_blocks_(\d+)_(attentions|resnets)_(\d+)_(.+)$/.exec(body)))
    return `output_blocks_${3 * Number(m[1]) + Number(m[3])}_${m[2] === 'attentions' ? 1 : 0}_${rest(m[2], m[4])}`;
  if ((m = /^down_blocks_(\d+)_downsamplers_0_conv$/.exec(body))) return `input_blocks_${3 + 3 * Number(m[1])}_0_op`;
  if ((m = /^up_blocks_(\d+)_upsamplers_0_conv$/.exec(body))) {
    const i = Number(m[1]);
    return `output_blocks_${2 + 3 * i}_${i > 0 ? 2 : 1}_conv`;
  }
  return undefined;
}

const PREFIXES: [string, string[]][] = [
  ['model.diffusion_model.', ['lora_unet_']],
  ['cond_stage_model.transformer.', ['lora_te_']],
  ['conditioner.embedders.0.transformer.', ['lora_te1_']],
  ['unet.', ['lora_unet_']],
  ['text_encoder.', ['lora_te_', 'lora_te1_']],
  ['text_encoder_2.', ['lora_te2_']],
];

/**
 * lora_name → checkpoint key stem (without `.weight`), for every `.weight` of the checkpoint.
 * diffusers U-Net weights are also indexed under their SGM names, which kohya's SDXL adapters use.
 */
export function loraKeyIndex(keys: Iterable<string>): Map<string, string> {
  const index = new Map<string, string>();
  const unetStems: [string, string][] = [];
  for (const key of keys) {
    if (!key.endsWith('.weight')) continue;
    const stem = key.slice(0, -'.weight'.length);
    const hit = PREFIXES.find(([p]) => stem.startsWith(p));
    if (hit) {
      for (const pre of hit[1]) index.set(pre + stem.slice(hit[0].length).replaceAll('.', '_'), stem);
      if (hit[0] === 'unet.') unetStems.push([stem.slice(hit[0].length), stem]);
    } else if (stem.startsWith('text_model.')) index.set(`lora_te_${stem.replaceAll('.', '_')}`, stem);
    else {
      index.set(`lora_unet_${stem.replaceAll('.', '_')}`, stem);
      unetStems.push([stem, stem]);
    }
  }
  const layout = unetLayoutFromPaths(unetStems.map(([p]) => p));
  if (layout) {
    for (const [path, stem] of unetStems) {
      const sgm = sgmPath(path, layout);
      const name = sgm && `lora_unet_${sgm.replaceAll('.', '_')}`;
      if (name && !index.has(name)) index.set(name, stem);
    }
  }
  return index;
}

/** The checkpoint stem a module patches, trying the name as is, then its LDM form. */
export function resolveModule(index: Map<string, string>, loraName: string): string | undefined {
  const direct = index.get(loraName);
  if (direct) return direct;
  if (!loraName.startsWith('lora_unet_')) return undefined;
  const cv = diffusersToCompvis(loraName.slice('lora_unet_'.length));
  return cv ? index.get(`lora_unet_${cv}`) : undefined;
}
