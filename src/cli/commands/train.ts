// `lyco train CONFIG [--model PATH] [--data DIR] [--output DIR] [--resume DIR] [--dlr-spike ...]
// [sd-scripts options...]`: trains an adapter from a kohya_ss GUI JSON or sd-scripts TOML.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, formatDiagnostic } from '../../config/index.ts';
import type { SpikePolicy } from '../../monitor/spike.ts';
import { NonFiniteLossError } from '../../train/faults.ts';
import { train } from '../../train/trainer.ts';

interface TrainCliOptions {
  model?: string;
  data?: string;
  output?: string;
  outputName?: string;
  tokenizer?: string;
  resume?: string;
  dlrSpike?: SpikePolicy;
  applyAllKeys?: boolean;
  keepTMax?: boolean;
  allowDuplicates?: boolean;
  progress?: boolean;
}

function sdArgs(rest: string[]): string[] {
  for (const a of rest) {
    if (a.startsWith('-') && !a.startsWith('--')) throw new InvalidArgumentError(`${a}: sd-scripts options are spelled --name value`);
  }
  return rest;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train an adapter from a kohya_ss GUI JSON or sd-scripts TOML (the guide presets as written)')
    .argument('<config>', 'kohya_ss GUI JSON or sd-scripts TOML')
    .argument('[sd-options...]', 'sd-scripts options that override the config, e.g. --resolution 512,512')
    .option('--model <path>', 'base model: .safetensors file or diffusers folder (pretrained_model_name_or_path)')
    .option('--data <dir>', 'dataset folder with N_name subfolders (train_data_dir)')
    .option('--output <dir>', 'where adapters, states, samples and logs go (output_dir)')
    .option('--output-name <name>', 'file name stem (output_name)')
    .option('--tokenizer <path>', 'CLIP tokenizer folder (vocab.json + merges.txt) when the model has none')
    .option('--resume <dir>', 'continue from a -state folder')
    .addOption(
      new Option('--dlr-spike <policy>', 'on a d*lr spike: warn, stop after saving, or roll back to the last save').choices([
        'warn',
        'stop',
        'rollback',
      ]),
    )
    .option('--apply-all-keys', 'apply every key as written instead of as kohya_ss passed them')
    .option('--keep-t-max', "keep the config's T_max instead of setting it to the planned steps")
    .option('--allow-duplicates', 'train even when the dataset has exact or near-duplicate images (lyco refuses them by default)')
    .option('--no-progress', 'no progress bar')
    .allowUnknownOption(true)
    .passThroughOptions(false)
    .action(async (config: string, rest: string[], o: TrainCliOptions) => {
      try {
        const r = await train({
          config,
          model: o.model,
          data: o.data,
          output: o.output,
          outputName: o.outputName,
          tokenizer: o.tokenizer,
          resume: o.resume,
          dlrSpike: o.dlrSpike,
          applyAllKeys: o.applyAllKeys,
          keepTMax: o.keepTMax,
          allowDuplicates: o.allowDuplicates,
          argv: sdArgs(rest),
          progress: o.progress === false ? false : undefined,
          handleSignals: true,
        });
        if (r.finalFile) console.log(`saved ${r.finalFile} (${r.globalStep} steps)`);
        if (r.cutoff !== undefined) console.log(`d*lr cut-off: step ${r.cutoff} — use --max_train_steps ${r.cutoff} and T_max=${r.cutoff}`);
        if (r.stopped === 'interrupt') process.exitCode = 130;
      } catch (e) {
        if (e instanceof ConfigError) {
          for (const d of e.diagnostics) console.error(formatDiagnostic(d));
          process.exitCode = 2;
          return;
        }
        if (e instanceof NonFiniteLossError) {
          console.error(`lyco: ${e.message}`);
          process.exitCode = 3;
          return;
        }
        throw e;
      }
    });
}
