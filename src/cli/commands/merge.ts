// `lyco merge BASE ADAPTER -o OUT`: bakes an adapter into a checkpoint (W + m·ΔW as loaders apply it).
import { type Command, InvalidArgumentError } from 'commander';
import { readAdapterFile, writeChecked } from '../../adapters/file.ts';
import { mergeAdapter } from '../../adapters/merge.ts';
import type { Tensor } from '../../torch/index.ts';
import { safetensors } from '../../torch/index.ts';

const number = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('a number is expected');
  return n;
};

export function register(program: Command): void {
  program
    .command('merge')
    .description('merge an adapter (LoRA/LoCon/LoHa/LoKr/iA3/full) into a base checkpoint (.safetensors)')
    .argument('<base>', 'base checkpoint (single-file LDM or diffusers U-Net / text encoder .safetensors)')
    .argument('<adapter>', 'adapter .safetensors')
    .requiredOption('-o, --out <file>', 'merged checkpoint to write')
    .option('-m, --multiplier <x>', 'adapter weight', number, 1)
    .option('--allow-unmatched', 'write even if some adapter modules match no checkpoint weight')
    .action((base: string, adapterPath: string, o: { out: string; multiplier: number; allowUnmatched?: boolean }) => {
      const ck = safetensors.load(base);
      const adapter = readAdapterFile(adapterPath);
      try {
        const { patched, report } = mergeAdapter(ck, adapter, o.multiplier);
        if (report.unmatched.length) {
          const msg = `${report.unmatched.length} adapter modules match no weight of ${base}: ${report.unmatched.slice(0, 5).join(', ')}${report.unmatched.length > 5 ? ', …' : ''}`;
          if (!o.allowUnmatched) throw new Error(`${msg} (wrong base model? --allow-unmatched writes anyway)`);
          console.warn(`lyco merge: ${msg}`);
        }
        const out = new Map<string, Tensor>(ck);
        for (const [k, t] of patched) out.set(k, t);
        writeChecked(o.out, out, ck.metadata);
        console.log(`merged ${report.merged} modules × ${o.multiplier} into ${o.out}`);
      } finally {
        adapter.dispose();
        ck.dispose();
      }
    });
}
