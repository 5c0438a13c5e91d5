// Which algorithm a file's module is, from its key suffixes, in A1111's order (spec §5.1): LoRA,
// LoHa, iA3, LoKr, full, norm. The metadata only tells DyLoRA apart (its keys are LoRA's).
import type { Tensor } from '../torch/index.ts';

export type ModuleType = 'lora' | 'loha' | 'ia3' | 'lokr' | 'full' | 'norm' | 'unknown';
export type FileAlgorithm = 'lora' | 'locon' | 'loha' | 'lokr' | 'ia3' | 'dylora' | 'full';

export function moduleType(keys: Set<string> | Map<string, unknown>): ModuleType {
  const has = (k: string) => keys.has(k);
  if ((has('lora_up.weight') && has('lora_down.weight')) || (has('lora_A.weight') && has('lora_B.weight'))) return 'lora';
  if (has('hada_w1_a') && has('hada_w1_b') && has('hada_w2_a') && has('hada_w2_b')) return 'loha';
  if (has('weight')) return 'ia3';
  if ((has('lokr_w1') || (has('lokr_w1_a') && has('lokr_w1_b'))) && (has('lokr_w2') || (has('lokr_w2_a') && has('lokr_w2_b'))))
    return 'lokr';
  if (has('diff')) return 'full';
  if (has('w_norm')) return 'norm';
  return 'unknown';
}

/** The module's rank as loaders read it (undefined: no rank, e.g. iA3 or full-matrix LoKr). */
export function moduleRank(type: ModuleType, m: Map<string, Tensor>): number | undefined {
  if (type === 'lora') return (m.get('lora_down.weight') ?? m.get('lora_A.weight'))?.shape[0];
  if (type === 'loha') return m.get('hada_w1_b')?.shape[0];
  if (type === 'lokr') return (m.get('lokr_w2_b') ?? m.get('lokr_w1_b'))?.shape[0];
  return undefined;
}

/** True for a LoRA module that acts on a k×k conv (LoCon / kohya C3Lier). */
export function isConvLora(m: Map<string, Tensor>): boolean {
  const down = m.get('lora_down.weight');
  return !!m.get('lora_mid.weight') || (!!down && down.ndim === 4 && (down.shape[2] > 1 || down.shape[3] > 1));
}

/** File-level algorithm: the non-LoRA type present (LoHa/LoKr/iA3/full), else DyLoRA per metadata, LoCon if any k×k conv or LyCORIS made it, else LoRA. */
export function fileAlgorithm(types: ModuleType[], anyConv: boolean, metadata: Record<string, string>): FileAlgorithm {
  for (const t of ['lokr', 'loha', 'ia3'] as const) if (types.includes(t)) return t;
  if (types.length && types.every((t) => t === 'full' || t === 'norm')) return 'full';
  // LyCORIS records algo in ss_network_args (kohya runs) or a bare `algo` key (its own tools).
  const algo = /"algo":\s*"(\w+)"/.exec(metadata.ss_network_args ?? '')?.[1] ?? metadata.algo;
  if (metadata.ss_network_module === 'networks.dylora' || algo === 'dylora') return 'dylora';
  // LyCORIS' lora/locon are one class (LoConModule); kohya's conv_dim variant is "Kohya LoCon".
  return anyConv || algo === 'locon' || algo === 'lora' || metadata.ss_network_module === 'lycoris.kohya' ? 'locon' : 'lora';
}
