// Copies a module's tensors from a file's `<suffix> → tensor` map, reporting what is missing,
// unexpected or of another shape by key. Shapes that differ only by trailing 1s (LyCORIS 3
// DyLoRA writes a conv's lora_up as (out, r); kohya as (out, r, 1, 1)) are reshaped.
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { AdapterModule } from './base.ts';

export interface TensorLoadReport {
  missing: string[];
  unexpected: string[];
  mismatched: string[];
}

const squeezeTrailing = (s: number[]) => {
  const r = [...s];
  while (r.length > 1 && r[r.length - 1] === 1) r.pop();
  return r.join(',');
};

export function loadAdapterTensors(mod: AdapterModule, src: Map<string, Tensor>, prefix = ''): TensorLoadReport {
  const own = mod.fileTensors();
  const report: TensorLoadReport = { missing: [], unexpected: [], mismatched: [] };
  torch.noGrad(() =>
    torch.scope(() => {
      for (const [k, t] of own) {
        const v = src.get(k);
        if (!v) {
          report.missing.push(prefix + k);
          continue;
        }
        if (v.shape.join() === t.shape.join()) t.copy_(v);
        else if (squeezeTrailing(v.shape) === squeezeTrailing(t.shape)) t.copy_(v.reshape(t.shape));
        else report.mismatched.push(`${prefix}${k}: file [${v.shape}] vs module [${t.shape}]`);
      }
    }),
  );
  for (const k of src.keys()) if (!own.has(k)) report.unexpected.push(prefix + k);
  return report;
}
