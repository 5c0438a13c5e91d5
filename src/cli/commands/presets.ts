// `lyco presets`: lists the guide's presets (write one with `lyco init --preset NAME`).
import type { Command } from 'commander';
import { PRESETS } from '../../config/index.ts';

export function register(program: Command): void {
  program
    .command('presets')
    .description("list the guide's presets (Prodigy iA3 / LoKr); write one with `lyco init --preset NAME`")
    .option('--json', 'print [{"name", "title", "description"}, ...]')
    .action((o: { json?: boolean }) => {
      if (o.json) {
        console.log(JSON.stringify(PRESETS.map(({ name, title, description }) => ({ name, title, description }))));
        return;
      }
      for (const p of PRESETS) console.log(`${p.name.padEnd(6)} ${p.title}: ${p.description}`);
    });
}
