// Extract a LoRA / LoCon from the difference of two checkpoints (sd-scripts
// extract_lora_from_models.py): per targeted layer D = W_tuned − W_orig, SVD of fold(D),
// up = U[:, :k]·S[:k], down = Vh[:k], both clamped to the `clampQuantile` quantile of their
// magnitudes, alpha = k (scale 1). Text-encoder layers whose max|D| ≤ minDiff are skipped.
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { loraKeyIndex } from './keymap.ts';

export interface ExtractOptions {
  dim: number;
  /** Rank for k×k convs (ResNet/Down/Upsample); 0/undefined: convs are not extracted. */
  convDim?: number;
  minDiff?: number;
  clampQuantile?: number;
}

// Linear / 1×1 layers kohya's LierLa targets (transformer blocks, CLIP attention/MLP), by name.
const LIERLA = /(attn[12]_(to_q|to_k|to_v|to_out_0)|ff_net_0_proj|ff_net_2|proj_in|proj_out|self_attn_(q|k|v|out)_proj|mlp_fc[12])$/;
// C3Lier additions: ResNet blocks and down/upsamplers (diffusers or LDM names).
const C3LIER =
  /(resnets_\d+_(conv1|conv2|time_emb_proj|conv_shortcut)|downsamplers_0_conv|upsamplers_0_conv|_(in_layers_2|out_layers_3|emb_layers_1|skip_connection)|input_blocks_\d+_0_op|output_blocks_\d+_\d_conv)$/;

function quantile(sortedAbs: Float32Array, q: number): number {
  const pos = q * (sortedAbs.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sortedAbs.length - 1);
  return sortedAbs[lo] + (sortedAbs[hi] - sortedAbs[lo]) * (pos - lo);
}

export interface ExtractReport {
  extracted: number;
  skipped: string[];
}

/** Returns `<lora_name>.lora_down.weight` / `.lora_up.weight` / `.alpha` tensors (float32). */
export function extractLora(
  orig: Map<string, Tensor>,
  tuned: Map<string, Tensor>,
  o: ExtractOptions,
): { tensors: Map<string, Tensor>; report: ExtractReport } {
  const tensors = new Map<string, Tensor>();
  const report: ExtractReport = { extracted: 0, skipped: [] };
  const index = loraKeyIndex(orig.keys());
  const seen = new Set<string>();
  for (const [name, stem] of index) {
    if (seen.has(stem)) continue; // `text_encoder.` keys are indexed as lora_te_ and lora_te1_
    seen.add(stem);
    const a = orig.get(`${stem}.weight`)!;
    const b = tuned.get(`${stem}.weight`);
    if (!b || a.shape.join() !== b.shape.join() || (a.ndim !== 2 && a.ndim !== 4)) continue;
    const kxk = a.ndim === 4 && (a.shape[2] > 1 || a.shape[3] > 1);
    const wanted = LIERLA.test(name) || (!!o.convDim && C3LIER.test(name));
    if (!wanted) continue;
    const rankWanted = kxk ? (o.convDim ?? 0) : o.dim;
    if (!rankWanted) continue;
    torch.noGrad(() =>
      torch.scope(() => {
        const d = b.float().sub(a.float());
        if (name.startsWith('lora_te') && d.abs().max().item() <= (o.minDiff ?? 0.01)) {
          report.skipped.push(name);
          return;
        }
        const [out, inn] = a.shape;
        const k = Math.min(
          rankWanted,
          out,
          a.shape.slice(1).reduce((p, x) => p * x, 1),
        );
        const [U, S, Vh] = torch.ops.linalg_svd(d.reshape(out, -1), false);
        let up = U.narrow(1, 0, k).mul(S.narrow(0, 0, k).unsqueeze(0));
        let down = Vh.narrow(0, 0, k);
        const q = o.clampQuantile ?? 0.99;
        if (q < 1) {
          const all = torch.cat([up.flatten(), down.flatten()]).abs();
          const [sorted] = torch.ops.sort(all);
          const hi = quantile(sorted.data() as Float32Array, q);
          up = up.clamp(-hi, hi);
          down = down.clamp(-hi, hi);
        }
        if (a.ndim === 4) {
          up = up.reshape(out, k, 1, 1);
          down = down.reshape(k, inn, a.shape[2], a.shape[3]);
        }
        tensors.set(`${name}.lora_up.weight`, up.contiguous().keep());
        tensors.set(`${name}.lora_down.weight`, down.contiguous().keep());
        tensors.set(`${name}.alpha`, torch.tensor(k).keep());
        report.extracted++;
      }),
    );
  }
  return { tensors, report };
}
