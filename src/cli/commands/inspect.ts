// `lyco inspect FILE [--json]`: for an adapter file (kohya / LyCORIS / lyco): algorithm, module
// count, trained values, dims/alphas and metadata; for a base model (single-file .safetensors
// or diffusers folder): family, components and parameter counts, read from the header only.
import type { Command } from 'commander';
import { formatInspect, inspectAdapter } from '../../adapters/inspect.ts';
import { formatModelInspection, inspectModel, isBaseModel } from '../../models/inspect.ts';

export function register(program: Command): void {
  program
    .command('inspect')
    .description(
      'show what an adapter .safetensors holds (algorithm, modules, parameters, dims/alphas, metadata) or a base model (family, components, parameter counts)',
    )
    .argument('<file>', 'adapter .safetensors, single-file checkpoint .safetensors, or diffusers folder')
    .option(
      '--json',
      'print a JSON object (adapter: algorithm is one of lora, locon, loha, lokr, ia3, dylora, full; model: family, components)',
    )
    .action((file: string, o: { json?: boolean }) => {
      if (isBaseModel(file)) {
        const r = inspectModel(file);
        console.log(o.json ? JSON.stringify({ kind: 'model', ...r }, null, 2) : formatModelInspection(r));
        return;
      }
      const r = inspectAdapter(file);
      console.log(o.json ? JSON.stringify(r, null, 2) : formatInspect(r));
    });
}
