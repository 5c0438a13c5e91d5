// `lyco convert ADAPTER --to diff|lora [--base MODEL] [--rank N] --out FILE`: an adapter in a form
// ComfyUI loads where it has no loader for the type (iA3): weight differences, or a LoRA
// extracted by truncated SVD with the error it costs reported per module.
import { basename } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { type BaseWeights, openBaseWeights } from '../../adapters/base-weights.ts';
import { type ConvertTarget, convertAdapter, formatConvertReport } from '../../adapters/convert.ts';
import { moduleType } from '../../adapters/detect.ts';
import { readAdapterFile, writeChecked } from '../../adapters/file.ts';
import { pyFloat, pyJsonDumps } from '../../adapters/py-str.ts';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('an integer ≥ 1 is expected');
  return n;
};

const DTYPES = { fp16: 'float16', bf16: 'bfloat16', float: 'float32', fp32: 'float32' } as const;

export function register(program: Command): void {
  program
    .command('convert')
    .description(
      'rewrite an adapter for loaders without its type (ComfyUI/Forge have no iA3 loader): weight differences (diff) or an extracted LoRA',
    )
    .argument('<adapter>', 'adapter .safetensors')
    .requiredOption('--to <form>', 'diff (exact: ΔW per layer, large) or lora (rank-r SVD of ΔW, small, approximate)')
    .requiredOption('-o, --out <file>', 'converted .safetensors to write')
    .option('--base <model>', 'base model the adapter was trained on (single-file .safetensors or diffusers folder); needed for iA3')
    .option('--rank <n>', 'LoRA rank for --to lora', int, 32)
    .option('--save-precision <p>', 'fp16, bf16 or float', 'fp16')
    .option('--allow-unmatched', 'write even if some modules match no base weight (they are left out)')
    .option('--json', 'print the per-module report as JSON')
    .action(
      (
        adapterPath: string,
        o: { to: string; out: string; base?: string; rank: number; savePrecision: string; allowUnmatched?: boolean; json?: boolean },
      ) => {
        if (o.to !== 'diff' && o.to !== 'lora') throw new Error(`--to ${o.to}: diff or lora`);
        const dtype = DTYPES[o.savePrecision as keyof typeof DTYPES];
        if (!dtype) throw new Error(`--save-precision ${o.savePrecision}: one of fp16, bf16, float`);
        const adapter = readAdapterFile(adapterPath);
        let base: BaseWeights | undefined;
        try {
          const needsBase = [...adapter.modules.values()].filter((m) => moduleType(m) === 'ia3' || m.has('dora_scale')).length;
          if (needsBase && !o.base) {
            throw new Error(
              `${adapterPath}: ${needsBase} modules (iA3 or DoRA) have a ΔW that depends on the base weights (iA3: ΔW = W ⊙ w); pass --base MODEL, the checkpoint the adapter was trained on`,
            );
          }
          base = o.base ? openBaseWeights(o.base) : undefined;
          const { tensors, report } = convertAdapter(adapter, base, { to: o.to as ConvertTarget, rank: o.rank, dtype });
          try {
            if (report.unmatched.length) {
              const msg = `${report.unmatched.length} modules match no weight ${o.base ? `of ${o.base}` : '(no --base given)'}: ${report.unmatched.slice(0, 5).join(', ')}${report.unmatched.length > 5 ? ', …' : ''}`;
              if (!o.allowUnmatched || !report.modules.length)
                throw new Error(`${msg}${o.base ? ' (wrong base model? --allow-unmatched leaves them out)' : ''}`);
              console.warn(`lyco convert: ${msg}; left out`);
            }
            const meta: Record<string, string> = { ...adapter.metadata };
            for (const k of Object.keys(meta)) if (k.startsWith('sshs_')) delete meta[k];
            const from = [...new Set(report.modules.map((m) => m.from))].join(',');
            meta.lyco_converted_from = pyJsonDumps({ file: basename(adapterPath), types: from, base: o.base ? basename(o.base) : null });
            if (o.to === 'lora') {
              meta.ss_network_module = 'networks.lora';
              meta.ss_network_dim = String(o.rank);
              meta.ss_network_alpha = pyFloat(o.rank);
              delete meta.ss_network_args;
            } else {
              meta.ss_network_module = 'lycoris.kohya';
              meta.ss_network_args = pyJsonDumps({ algo: 'full' });
            }
            writeChecked(o.out, tensors, meta);
            if (o.json) console.log(JSON.stringify({ out: o.out, to: o.to, ...report }, null, 2));
            else {
              console.log(formatConvertReport(report, o.to));
              if (from.includes('ia3'))
                console.log(
                  `note: iA3's ΔW = W ⊙ w was computed from ${o.base}'s weights, so ${o.out} is right for that base model only (the iA3 file itself scales whatever base it is loaded on)`,
                );
              console.log(`wrote ${o.out}`);
            }
          } finally {
            for (const t of tensors.values()) t.dispose();
          }
        } finally {
          base?.dispose();
          adapter.dispose();
        }
      },
    );
}
