// `lyco extract ORIG TUNED -o OUT --dim N [--conv-dim N]`: a LoRA/LoCon from the difference of two
// checkpoints (SVD per layer, as sd-scripts' extract_lora_from_models.py).
import { type Command, InvalidArgumentError } from 'commander';
import { extractLora } from '../../adapters/extract.ts';
import { writeChecked } from '../../adapters/file.ts';
import { pyFloat, pyJsonDumps } from '../../adapters/py-str.ts';
import type { Tensor } from '../../torch/index.ts';
import { safetensors } from '../../torch/index.ts';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('an integer ≥ 0 is expected');
  return n;
};
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('a number is expected');
  return n;
};

export function register(program: Command): void {
  program
    .command('extract')
    .description('extract a LoRA (LoCon with --conv-dim) from the difference of two checkpoints')
    .argument('<orig>', 'original checkpoint .safetensors')
    .argument('<tuned>', 'fine-tuned checkpoint .safetensors (same layout)')
    .requiredOption('-o, --out <file>', 'adapter .safetensors to write')
    .requiredOption('--dim <n>', 'rank for Linear and 1×1 layers', int)
    .option('--conv-dim <n>', 'rank for 3×3 convs (ResNet, down/upsamplers); omitted: not extracted', int)
    .option('--min-diff <x>', 'skip text-encoder layers whose largest change is not above this', num, 0.01)
    .option('--clamp-quantile <q>', 'clamp factors to this quantile of their magnitudes', num, 0.99)
    .option('--save-precision <p>', 'fp16, bf16 or float', 'fp16')
    .action(
      (
        orig: string,
        tuned: string,
        o: { out: string; dim: number; convDim?: number; minDiff: number; clampQuantile: number; savePrecision: string },
      ) => {
        const dtype = ({ fp16: 'float16', bf16: 'bfloat16', float: 'float32', fp32: 'float32' } as const)[o.savePrecision as 'fp16'];
        if (!dtype) throw new Error(`--save-precision ${o.savePrecision}: one of fp16, bf16, float`);
        const a = safetensors.load(orig);
        const b = safetensors.load(tuned);
        const { tensors, report } = extractLora(a, b, {
          dim: o.dim,
          convDim: o.convDim,
          minDiff: o.minDiff,
          clampQuantile: o.clampQuantile,
        });
        try {
          if (!report.extracted) throw new Error('no layer differs between the two checkpoints (or none is a LoRA target)');
          const cast = new Map<string, Tensor>([...tensors].map(([k, t]) => [k, t.to(dtype).keep()]));
          const meta: Record<string, string> = {
            ss_network_module: 'networks.lora',
            ss_network_dim: String(o.dim),
            ss_network_alpha: pyFloat(o.dim),
          };
          if (o.convDim) meta.ss_network_args = pyJsonDumps({ conv_dim: String(o.convDim), conv_alpha: pyFloat(o.convDim) });
          writeChecked(o.out, cast, meta);
          console.log(
            `extracted ${report.extracted} modules to ${o.out}${report.skipped.length ? ` (${report.skipped.length} text-encoder layers unchanged, skipped)` : ''}`,
          );
        } finally {
          for (const t of tensors.values()) t.dispose();
          a.dispose();
          b.dispose();
        }
      },
    );
}
