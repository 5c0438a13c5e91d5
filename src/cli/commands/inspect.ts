// `lyco inspect FILE [--json]`: algorithm, module count, trained values, dims/alphas and metadata
// of an adapter file (kohya / LyCORIS / lyco).
import type { Command } from 'commander';
import { formatInspect, inspectAdapter } from '../../adapters/inspect.ts';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show what an adapter .safetensors holds: algorithm, modules, parameters, dims/alphas, metadata')
    .argument('<file>', 'adapter .safetensors')
    .option('--json', 'print a JSON object (algorithm: lora, locon, loha, lokr, ia3, dylora or full)')
    .action((file: string, o: { json?: boolean }) => {
      const r = inspectAdapter(file);
      console.log(o.json ? JSON.stringify(r, null, 2) : formatInspect(r));
    });
}
