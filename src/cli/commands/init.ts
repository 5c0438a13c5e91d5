// `lyco init --preset ia3|lokr [--out FILE]`: writes one of the guide's presets, as the guide prints it.
import { existsSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { findPreset, PRESETS, writeFileAtomic } from '../../config/index.ts';

function parsePreset(v: string): string {
  if (!findPreset(v)) throw new InvalidArgumentError(`one of ${PRESETS.map((p) => p.name).join(', ')} is expected`);
  return v.toLowerCase();
}

export function register(program: Command): void {
  program
    .command('init')
    .description("write one of the guide's presets as a kohya_ss GUI JSON config")
    .requiredOption('--preset <name>', `preset to write: ${PRESETS.map((p) => p.name).join(' | ')}`, parsePreset)
    .option('--out <file>', 'file to write (default: <preset>.json)')
    .option('--force', 'replace the file if it exists')
    .action((o: { preset: string; out?: string; force?: boolean }) => {
      const preset = findPreset(o.preset);
      if (!preset) throw new Error(`unknown preset ${o.preset}`);
      const out = o.out ?? `${preset.name}.json`;
      if (existsSync(out) && !o.force) throw new Error(`${out}: exists; pass --force to replace it or --out to choose another file`);
      writeFileAtomic(out, preset.text);
      console.log(`wrote ${out} (${preset.title}); next: lyco plan ${out}`);
    });
}
