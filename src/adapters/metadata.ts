// The `ss_*` / `modelspec.*` metadata sd-scripts writes for a network (spec §4.2, §4.4), rendered
// with Python's str() conventions. The training loop adds its own ss_* keys through `extra`.
import type { NetworkConfig } from './network.ts';
import { pyFloat, pyJsonDumps, pyStr } from './py-str.ts';

export interface MetadataInput {
  config: NetworkConfig;
  /** --network_args as given (strings, CLI order); absent → no ss_network_args, as sd-scripts. */
  networkArgs?: Record<string, string>;
  trainingComment?: string;
  outputName?: string;
  baseModel?: 'sd_v1' | 'sd_v2' | 'sd_v2_v' | 'sdxl_base_v1-0';
  /** Basename of the base checkpoint (ss_sd_model_name). */
  sdModelName?: string;
  resolution?: [number, number];
  scaleWeightNorms?: number;
  title?: string;
  date?: Date;
  extra?: Record<string, string>;
}

const ARCH: Record<string, string> = {
  sd_v1: 'stable-diffusion-v1/lora',
  sd_v2: 'stable-diffusion-v2-512/lora',
  sd_v2_v: 'stable-diffusion-v2-768-v/lora',
  'sdxl_base_v1-0': 'stable-diffusion-xl-v1-base/lora',
};

function isoLocal(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function adapterMetadata(i: MetadataInput): Record<string, string> {
  const c = i.config;
  const base = i.baseModel ?? 'sd_v1';
  const sdxl = base.startsWith('sdxl');
  const maxNormOff = c.algo === 'ia3' || c.algo === 'dylora';
  const m: Record<string, string> = {
    ss_network_module: c.networkModule,
    ss_network_dim: pyStr(c.networkDim),
    ss_network_alpha: c.networkAlpha === null || c.networkAlpha === undefined ? 'None' : pyFloat(c.networkAlpha),
    ss_network_dropout: pyStr(c.dropout ?? null, true),
    ss_training_comment: pyStr(i.trainingComment ?? null),
    ss_v2: pyStr(base.startsWith('sd_v2')),
    ss_base_model_version: base,
    ss_scale_weight_norms: i.scaleWeightNorms && !maxNormOff ? pyFloat(i.scaleWeightNorms) : 'None',
    'modelspec.sai_model_spec': '1.0.0',
    'modelspec.architecture': ARCH[base],
    'modelspec.implementation': sdxl ? 'https://github.com/Stability-AI/generative-models' : 'diffusers',
    'modelspec.title': i.title ?? i.outputName ?? `LoRA@${Date.now() / 1000}`,
    'modelspec.resolution': `${(i.resolution ?? [sdxl ? 1024 : 512, sdxl ? 1024 : 512]).join('x')}`,
    'modelspec.prediction_type': base === 'sd_v2_v' ? 'v' : 'epsilon',
    'modelspec.date': isoLocal(i.date ?? new Date()),
  };
  // sd-scripts writes "False" when it switched max-norm off for a network without it.
  if (i.scaleWeightNorms && maxNormOff) m.ss_scale_weight_norms = 'False';
  if (i.networkArgs) m.ss_network_args = pyJsonDumps(i.networkArgs);
  if (i.outputName) m.ss_output_name = i.outputName;
  if (i.sdModelName) m.ss_sd_model_name = i.sdModelName;
  return { ...m, ...i.extra };
}
