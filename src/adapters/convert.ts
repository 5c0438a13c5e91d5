// `lyco convert`: an adapter as a file ComfyUI (and Forge) load where they have no loader for
// its type — iA3 above all (spec §5.2–5.3). Two forms, both keyed by the same kohya module names:
//  - diff: `<name>.diff` = ΔW (and `.diff_b`), which ComfyUI and A1111 add to the weight as is;
//    exact up to the save dtype's rounding;
//  - lora: the best rank-r approximation of ΔW (truncated SVD, Eckart–Young), as `lora_up` /
//    `lora_down` / `alpha` = r, so loaders apply exactly up·down; what is lost is reported per
//    module as the relative Frobenius error ‖ΔW − up·down‖ / ‖ΔW‖ of the stored factors.
// iA3's ΔW = W ⊙ w depends on the base weights, so the base model is needed for it (and DoRA).
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { BaseWeights } from './base-weights.ts';
import { moduleType } from './detect.ts';
import type { AdapterFile, SaveDType } from './file.ts';
import { effectiveDelta } from './merge.ts';

export type ConvertTarget = 'diff' | 'lora';

export interface ConvertOptions {
  to: ConvertTarget;
  /** Rank of the extracted LoRA (clamped to the layer's smaller side). */
  rank?: number;
  dtype?: SaveDType;
}

export interface ConvertedModule {
  name: string;
  /** Module type in the source file. */
  from: string;
  shape: number[];
  /** LoRA rank stored (lora only). */
  rank?: number;
  /** ‖ΔW − ΔW_stored‖_F / ‖ΔW‖_F after the cast to the save dtype (0 when ΔW = 0). */
  relError: number;
}

export interface ConvertReport {
  modules: ConvertedModule[];
  /** Modules with no base weight (their ΔW needs one). */
  unmatched: string[];
  /** Stored values (what the file holds, alpha excluded). */
  values: number;
}

/** Shape of W when the factors alone determine it (LoRA, full); undefined otherwise. */
function shapeWithoutBase(m: Map<string, Tensor>): number[] | undefined {
  const diff = m.get('diff');
  if (diff) return diff.shape;
  const up = m.get('lora_up.weight');
  const down = m.get('lora_down.weight');
  if (up && down && !m.has('lora_mid.weight') && !m.has('dora_scale'))
    return down.ndim === 4 ? [up.shape[0], ...down.shape.slice(1)] : [up.shape[0], down.shape[1]];
  return undefined;
}

const relError = (d: Tensor, approx: Tensor): number =>
  torch.scope(() => {
    const n = d.norm().item();
    return n === 0 ? 0 : d.sub(approx).norm().item() / n;
  });

/** Truncated SVD of fold(ΔW): up = U_r·√S_r, down = √S_r·V_rᵀ (balanced, for fp16 range). */
function lowRank(delta: Tensor, rank: number): { up: Tensor; down: Tensor; r: number } {
  return torch.scope(() => {
    const [out] = delta.shape;
    const flat = delta.reshape(out, -1);
    const r = Math.max(1, Math.min(rank, out, flat.shape[1]));
    const [U, S, Vh] = torch.ops.linalg_svd(flat, false);
    const s = S.narrow(0, 0, r).sqrt();
    let up = U.narrow(1, 0, r).mul(s.unsqueeze(0));
    let down = Vh.narrow(0, 0, r).mul(s.unsqueeze(1));
    if (delta.ndim === 4) {
      up = up.reshape(out, r, 1, 1);
      down = down.reshape(r, ...delta.shape.slice(1));
    }
    return { up: up.contiguous(), down: down.contiguous(), r };
  });
}

export function convertAdapter(
  adapter: AdapterFile,
  base: BaseWeights | undefined,
  o: ConvertOptions,
): { tensors: Map<string, Tensor>; report: ConvertReport } {
  const dtype = o.dtype ?? 'float16';
  const tensors = new Map<string, Tensor>();
  const report: ConvertReport = { modules: [], unmatched: [], values: 0 };
  for (const [name, m] of adapter.modules) {
    const from = moduleType(m);
    const layer = base?.layer(name);
    const shape = layer?.weight.shape ?? shapeWithoutBase(m);
    if (!shape) {
      report.unmatched.push(name);
      continue;
    }
    torch.noGrad(() =>
      torch.scope(() => {
        // Without a base, a placeholder of the right shape: LoRA/full deltas do not read W.
        const w = layer?.weight ?? torch.zeros(shape);
        const { delta, biasDelta } = effectiveDelta(m, w);
        const put = (k: string, t: Tensor) => {
          const c = t.to(dtype).contiguous().keep();
          tensors.set(`${name}.${k}`, c);
          report.values += c.numel();
          return c;
        };
        if (o.to === 'diff') {
          const stored = put('diff', delta);
          if (biasDelta) put('diff_b', biasDelta);
          report.modules.push({ name, from, shape, relError: relError(delta, stored.float()) });
          return;
        }
        const { up, down, r } = lowRank(delta, o.rank ?? 32);
        const up16 = put('lora_up.weight', up);
        const down16 = put('lora_down.weight', down);
        tensors.set(`${name}.alpha`, torch.tensor(r).to(dtype).keep());
        if (biasDelta) put('diff_b', biasDelta);
        const approx = up16.float().reshape(shape[0], r).matmul(down16.float().reshape(r, -1)).reshape(shape);
        report.modules.push({ name, from, shape, rank: r, relError: relError(delta, approx) });
      }),
    );
  }
  return { tensors, report };
}

/** One line per error band, then the worst modules: what the conversion lost. */
export function formatConvertReport(r: ConvertReport, to: ConvertTarget): string {
  const errs = r.modules.map((m) => m.relError);
  const mean = errs.reduce((a, b) => a + b, 0) / Math.max(1, errs.length);
  const max = Math.max(0, ...errs);
  const lines = [
    `${r.modules.length} modules converted to ${to === 'diff' ? 'weight differences (diff)' : 'LoRA (lora_up/lora_down)'}, ${r.values.toLocaleString('en-US')} stored values`,
    `relative error ‖ΔW − stored‖/‖ΔW‖: mean ${mean.toExponential(2)}, max ${max.toExponential(2)}${to === 'diff' ? ' (save-dtype rounding only)' : ''}`,
  ];
  if (to === 'lora') {
    const worst = [...r.modules].sort((a, b) => b.relError - a.relError).slice(0, 5);
    for (const m of worst) lines.push(`  ${m.name} [${m.shape}] rank ${m.rank}: ${(m.relError * 100).toFixed(1)} %`);
  }
  return lines.join('\n');
}
