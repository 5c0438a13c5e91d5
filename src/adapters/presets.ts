// Target presets of kohya networks.lora and LyCORIS (spec §3.1). LyCORIS 1.8 ignored the U-Net
// name targets of preset `full`; LyCORIS 3 applies them (conv_in, conv_out, time embedding).
import type { TargetRules } from './targets.ts';

export interface PresetRules {
  unet: TargetRules;
  /** Classes whose k×k convs exist only with conv_dim (kohya C3Lier); LyCORIS: any conv with conv_dim > 0. */
  te: TargetRules;
}

const TE_CLASSES = ['CLIPAttention', 'CLIPSdpaAttention', 'CLIPMLP'];
const UNET_TRANSFORMER = ['Transformer2DModel'];
const UNET_CONV_BLOCKS = ['ResnetBlock2D', 'Downsample2D', 'Upsample2D'];
const LY3_UNET_NAMES = ['conv_in', 'conv_out', 'time_embedding.linear_1', 'time_embedding.linear_2'];

/** kohya networks.lora / networks.dylora: LierLa, plus C3Lier blocks when conv_dim is given. */
export function kohyaRules(withConv: boolean): PresetRules {
  return { unet: { classes: withConv ? [...UNET_TRANSFORMER, ...UNET_CONV_BLOCKS] : UNET_TRANSFORMER }, te: { classes: TE_CLASSES } };
}

export const LYCORIS_PRESETS = [
  'full',
  'full-lin',
  'attn-mlp',
  'attn-only',
  'unet-only',
  'unet-transformer-only',
  'unet-convblock-only',
] as const;
export type LycorisPreset = (typeof LYCORIS_PRESETS)[number];

/** LyCORIS presets; `version: 3` adds preset full's U-Net name targets. */
export function lycorisRules(preset: LycorisPreset, version: 1 | 3 = 1): PresetRules & { enableConv: boolean } {
  const names = version === 3 ? LY3_UNET_NAMES : [];
  switch (preset) {
    case 'full':
      return { unet: { classes: [...UNET_TRANSFORMER, ...UNET_CONV_BLOCKS], names }, te: { classes: TE_CLASSES }, enableConv: true };
    case 'full-lin':
      return {
        unet: { classes: [...UNET_TRANSFORMER, 'ResnetBlock2D'], names: ['time_embedding.linear_1', 'time_embedding.linear_2'] },
        te: { classes: TE_CLASSES },
        enableConv: false,
      };
    case 'attn-mlp':
      return { unet: { classes: UNET_TRANSFORMER }, te: { classes: TE_CLASSES }, enableConv: true };
    case 'attn-only':
      return {
        unet: { classes: ['CrossAttention', 'Attention'] },
        te: { classes: ['CLIPAttention', 'CLIPSdpaAttention'] },
        enableConv: true,
      };
    case 'unet-only':
      return { unet: { classes: [...UNET_TRANSFORMER, ...UNET_CONV_BLOCKS], names }, te: {}, enableConv: true };
    case 'unet-transformer-only':
      return { unet: { classes: UNET_TRANSFORMER }, te: {}, enableConv: true };
    case 'unet-convblock-only':
      return { unet: { classes: UNET_CONV_BLOCKS }, te: {}, enableConv: true };
  }
}

/** iA3 in LyCORIS 1.8–2.2 (IA3Network): fixed substrings of the full path, no preset. */
export const IA3_RULES: PresetRules = {
  unet: { substrings: ['to_k', 'to_v', 'ff.net.2'] },
  te: { substrings: ['k_proj', 'v_proj', 'mlp.fc2'] },
};

/** The layers (IA)³ rescales on the input (FFN inner activation): what train_on_input was meant to do. */
export const IA3_ON_INPUT = ['ff.net.2', 'mlp.fc2'];
