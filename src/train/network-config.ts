// sd-scripts' --network_module / --network_dim / --network_alpha / --network_dropout /
// --network_args (as the config layer produced them from LoRA_type) → the adapter network's config.
import type { Algo, NetworkConfig, NetworkModuleName } from '../adapters/network.ts';
import type { LycorisPreset } from '../adapters/presets.ts';
import type { TrainConfig } from '../config/index.ts';

const MODULES: readonly NetworkModuleName[] = ['networks.lora', 'networks.dylora', 'lycoris.kohya'];
const ALGOS: readonly Algo[] = ['lora', 'locon', 'loha', 'lokr', 'ia3', 'dylora', 'full'];

const truthy = (v: string | undefined) => v !== undefined && /^(true|1)$/i.test(v.trim());
function num(args: Record<string, string>, key: string): number | undefined {
  const v = args[key];
  if (v === undefined || v.trim() === '' || v === 'None') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`network_args: ${key}=${v} is not a number`);
  return n;
}

/**
 * The network config a run builds. `asWritten` (--apply-all-keys) makes the keys LyCORIS 1.8
 * ignored act (train_on_input, network_dropout on LoKr/LoHa).
 */
export function networkConfigFromTrain(cfg: TrainConfig, asWritten: boolean): NetworkConfig {
  const module = (cfg.network_module ?? 'networks.lora') as NetworkModuleName;
  if (!MODULES.includes(module)) {
    throw new Error(`network_module: "${module}" is not supported (supported: ${MODULES.join(', ')})`);
  }
  const a = cfg.network_args;
  const algo = (module === 'lycoris.kohya' ? (a.algo ?? 'lora').toLowerCase() : module === 'networks.dylora' ? 'dylora' : 'lora') as Algo;
  if (!ALGOS.includes(algo)) throw new Error(`network_args: algo=${algo} is not supported (supported: ${ALGOS.join(', ')})`);
  const preset = a.preset as LycorisPreset | undefined;
  return {
    networkModule: module,
    algo,
    // sd-scripts' networks default to dim 4 when --network_dim is not given.
    networkDim: cfg.network_dim ?? 4,
    networkAlpha: cfg.network_alpha,
    convDim: num(a, 'conv_dim'),
    convAlpha: num(a, 'conv_alpha'),
    dropout: cfg.network_dropout ?? num(a, 'dropout'),
    rankDropout: num(a, 'rank_dropout'),
    moduleDropout: num(a, 'module_dropout'),
    rankDropoutScale: truthy(a.rank_dropout_scale),
    factor: num(a, 'factor'),
    decomposeBoth: truthy(a.decompose_both),
    useTucker: truthy(a.use_tucker) || truthy(a.use_conv_cp),
    preset,
    trainOnInput: truthy(a.train_on_input),
    ia3TrainOnInputAsWritten: asWritten,
    dropoutAsWritten: asWritten,
    blockSize: num(a, 'block_size') ?? num(a, 'unit'),
    dora: truthy(a.dora_wd) ? 'output' : false,
  };
}
