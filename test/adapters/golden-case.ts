// Rebuilds a golden/lycoris case: the base layer with its seeded weights and the lyco module of the
// same algorithm and kwargs, with the case's adapter tensors loaded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterModule } from '../../src/adapters/base.ts';
import { DyloraModule } from '../../src/adapters/dylora.ts';
import { Ia3Module } from '../../src/adapters/ia3.ts';
import { loadAdapterTensors } from '../../src/adapters/load-tensors.ts';
import { LoconModule } from '../../src/adapters/locon.ts';
import { LohaModule } from '../../src/adapters/loha.ts';
import { LokrModule } from '../../src/adapters/lokr.ts';
import { Conv2d, Linear, type Module } from '../../src/nn/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import { safetensors } from '../../src/torch/index.ts';

export interface CaseJson {
  case: string;
  algo: string;
  lora_name: string;
  base: { kind: 'linear' | 'conv2d'; in: number; out: number; k?: number; padding?: number };
  module_kwargs: Record<string, number | boolean>;
  state_dict_keys: Record<string, { shape: number[]; dtype: string }>;
  module_attributes: Record<string, unknown>;
  forward: Record<string, string>;
  dylora_forward_random_rank?: Record<string, { b_drawn: number }>;
}

export interface GoldenCase {
  json: CaseJson;
  t: Map<string, Tensor>;
  base: Module;
  mod: AdapterModule;
  /** Adapter tensors by suffix (the `sd.` entries). */
  sd: Map<string, Tensor>;
}

export const CASES = [
  'dylora_conv3',
  'dylora_linear',
  'ia3_conv3_in',
  'ia3_conv3_out',
  'ia3_linear_in',
  'ia3_linear_out',
  'locon_conv1',
  'locon_conv3',
  'locon_conv3_tucker',
  'loha_conv1',
  'loha_conv3',
  'loha_conv3_tucker',
  'loha_linear',
  'lokr_conv1_full_dim1024',
  'lokr_conv3_decompose_both',
  'lokr_conv3_f-1',
  'lokr_conv3_f8',
  'lokr_conv3_tucker',
  'lokr_linear_f-1',
  'lokr_linear_f8',
  'lokr_linear_f8_decompose_both',
  'lokr_linear_full_dim1024',
  'lora_linear',
  'lora_linear_dora',
];

export function buildModule(json: CaseJson, base: Module, opts: { scaleBias?: boolean } = {}): AdapterModule {
  const k = json.module_kwargs;
  const dim = k.lora_dim as number;
  const alpha = k.alpha as number;
  const name = json.lora_name;
  switch (json.algo) {
    case 'locon':
      return new LoconModule(name, base, {
        dim,
        alpha,
        tucker: !!k.use_tucker,
        dora: k.weight_decompose ? 'output' : false,
        style: 'lycoris',
      });
    case 'loha':
      return new LohaModule(name, base, { dim, alpha, tucker: !!k.use_tucker });
    case 'lokr':
      return new LokrModule(name, base, {
        dim,
        alpha,
        factor: k.factor as number,
        decomposeBoth: !!k.decompose_both,
        tucker: !!k.use_tucker,
      });
    case 'ia3':
      return new Ia3Module(name, base, { onInput: !!k.train_on_input, scaleBias: opts.scaleBias });
    case 'dylora':
      return new DyloraModule(name, base, { dim, alpha, blockSize: k.block_size as number, rule: 'lycoris' });
  }
  throw new Error(`unknown algo ${json.algo}`);
}

export function loadCase(dir: string, name: string, opts: { scaleBias?: boolean } = {}): GoldenCase {
  const json = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as CaseJson;
  const t = safetensors.load(join(dir, `${name}.safetensors`));
  const b = json.base;
  const base = b.kind === 'linear' ? new Linear(b.in, b.out) : new Conv2d(b.in, b.out, b.k!, { padding: b.padding });
  base.loadStateDict({ weight: t.get('base.weight')!, bias: t.get('base.bias')! }, { strict: true });
  base.eval();
  const mod = buildModule(json, base, opts);
  const sd = new Map([...t].filter(([k]) => k.startsWith('sd.')).map(([k, v]) => [k.slice(3), v]));
  const rep = loadAdapterTensors(mod, sd);
  if (rep.missing.length || rep.unexpected.length || rep.mismatched.length) throw new Error(`${name}: ${JSON.stringify(rep)}`);
  mod.eval();
  return { json, t, base, mod, sd };
}

/** `fmt(m)` of the golden keys: 1, 0p5, m1. */
export function fmt(m: number): string {
  return m === -1 ? 'm1' : String(m).replace('.', 'p');
}
