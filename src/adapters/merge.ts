// Merge an adapter file into base weights from the file semantics every loader uses (spec §5, §6.1):
// W' = W + m·ΔW (scale alpha/r, LoKr 1 when both factors are full, iA3 W ⊙ (1 + m·w), full diff /
// diff_b, DoRA with the axis its dora_scale has), in float32, cast back. This is LyCORIS 1.9's
// forward-consistent merge, not LyCORIS 3's (which applies alpha/r twice to LoHa/LoKr and crashes
// on iA3).
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { moduleRank, moduleType } from './detect.ts';
import type { AdapterFile } from './file.ts';
import { applyDora } from './functional/dora.ts';
import { ia3Diff } from './functional/ia3.ts';
import { loconDiff } from './functional/locon.ts';
import { lohaDiff } from './functional/loha.ts';
import { lokrDiff, lokrWeights } from './functional/lokr.ts';
import { loraKeyIndex, resolveModule } from './keymap.ts';

/** ΔW·scale of one file module for a weight of `shape` (multiplier not applied; DoRA handled by the caller). */
export function moduleDelta(m: Map<string, Tensor>, weight: Tensor): { delta: Tensor; biasDelta?: Tensor } {
  const shape = weight.shape;
  const type = moduleType(m);
  const g = (k: string) => m.get(k)?.float();
  const alpha = m.get('alpha')?.float().item();
  const rank = moduleRank(type, m);
  const scale = alpha !== undefined && rank !== undefined ? alpha / rank : 1;
  switch (type) {
    case 'lora':
      return { delta: loconDiff({ up: g('lora_up.weight')!, down: g('lora_down.weight')!, mid: g('lora_mid.weight') }, shape, scale) };
    case 'loha':
      return {
        delta: lohaDiff(
          { w1a: g('hada_w1_a')!, w1b: g('hada_w1_b')!, w2a: g('hada_w2_a')!, w2b: g('hada_w2_b')!, t1: g('hada_t1'), t2: g('hada_t2') },
          shape,
          scale,
        ),
      };
    case 'lokr':
      return {
        delta: lokrDiff(lokrWeights(g), shape, scale),
      };
    case 'ia3':
      return { delta: ia3Diff(weight.float(), g('weight')!, (m.get('on_input')?.item() ?? 0) !== 0, 1) };
    case 'full':
      return { delta: g('diff')!.reshape(shape), biasDelta: g('diff_b') };
    default:
      throw new Error(`cannot merge a module with keys ${[...m.keys()].join(', ')}`);
  }
}

/** W' − W at multiplier m as loaders apply it (DoRA included), float32, for a base weight `w`. */
export function effectiveDelta(m: Map<string, Tensor>, w: Tensor, multiplier = 1): { delta: Tensor; biasDelta?: Tensor } {
  return torch.scope(() => {
    const wf = w.float();
    const { delta, biasDelta } = moduleDelta(m, w);
    const dora = m.get('dora_scale');
    const d = dora
      ? applyDora(wf.add(delta), dora.float(), dora.shape[0] === w.shape[0] && dora.shape[1] === 1, multiplier).sub(wf)
      : delta.mul(multiplier);
    return { delta: d, biasDelta: biasDelta?.mul(multiplier) };
  });
}

export interface MergeReport {
  merged: number;
  /** Adapter modules with no matching checkpoint weight (names). */
  unmatched: string[];
}

/** Returns the patched tensors (new, float32 math cast back to each weight's dtype) by checkpoint key. */
export function mergeAdapter(
  checkpoint: Map<string, Tensor>,
  adapter: AdapterFile,
  multiplier = 1,
): { patched: Map<string, Tensor>; report: MergeReport } {
  const index = loraKeyIndex(checkpoint.keys());
  const patched = new Map<string, Tensor>();
  const report: MergeReport = { merged: 0, unmatched: [] };
  for (const [name, m] of adapter.modules) {
    const stem = resolveModule(index, name);
    const w = stem ? checkpoint.get(`${stem}.weight`) : undefined;
    if (!stem || !w) {
      report.unmatched.push(name);
      continue;
    }
    torch.noGrad(() => {
      const [nw, nb] = torch.scope(() => {
        const wf = w.float();
        const { delta, biasDelta } = moduleDelta(m, w);
        const dora = m.get('dora_scale');
        const merged = dora
          ? applyDora(wf.add(delta), dora.float(), dora.shape[0] === w.shape[0] && dora.shape[1] === 1, multiplier)
          : wf.add(delta.mul(multiplier));
        const b = checkpoint.get(`${stem}.bias`);
        const mb = biasDelta && b ? b.float().add(biasDelta.mul(multiplier)).to(b.dtype) : undefined;
        return [merged.to(w.dtype), mb] as const;
      });
      patched.set(`${stem}.weight`, nw.keep());
      if (nb) patched.set(`${stem}.bias`, nb.keep());
    });
    report.merged++;
  }
  return { patched, report };
}
