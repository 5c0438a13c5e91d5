// `lyco plan CONFIG [--json]`: steps per epoch, total optimizer steps, the matching T_max, and the
// save and sample points, computed the way sd-scripts computes them.
import { type Command, InvalidArgumentError } from 'commander';
import { formatDiagnostic, type LoadedConfig, loadConfig } from '../../config/index.ts';
import { formatBucketSummary } from '../../data/assign-buckets.ts';
import { blueprintFromFolders, type DatasetArgs, type FolderWarning, loadDatasetConfig } from '../../data/dataset-config.ts';
import { listImages } from '../../data/image-files.ts';
import { loadDataset } from '../../data/load-dataset.ts';
import type { DatasetBlueprint } from '../../data/subset-params.ts';
import { applyPlan, type PlanDataset, type PlanPoint, planInputFromConfig, planTraining } from '../../train/plan.ts';
import { datasetArgs } from '../../train/setup-data.ts';

/**
 * What `lyco plan` needs from the dataset: images × repeats per bucket, per dataset, in sd-scripts'
 * order, plus the kohya_ss GUI's own folder count (jpg/jpeg/png/webp × repeats) for its step estimate.
 */
export interface DatasetCounts {
  datasets: PlanDataset[];
  guiImagesTimesRepeats?: number;
  regFactor?: number;
  /** Lines to show (bucket table, skipped folders). */
  lines: string[];
}

/** Scans and buckets the dataset with src/data (every image is decoded once, as training would). */
async function datasetFromConfig(loaded: LoadedConfig): Promise<DatasetCounts> {
  const c = loaded.config;
  // The same dataset arguments training uses, so plan and train bucket alike.
  const args: DatasetArgs = datasetArgs(c);
  const lines: string[] = [];
  let blueprints: DatasetBlueprint[];
  if (c.dataset_config) blueprints = loadDatasetConfig(c.dataset_config, args);
  else if (c.train_data_dir) {
    const warnings: FolderWarning[] = [];
    blueprints = [blueprintFromFolders(c.train_data_dir, c.reg_data_dir, args, warnings)];
    lines.push(...warnings.map((w) => w.message));
  } else throw new Error(`${loaded.file}: no train_data_dir or dataset_config; set one, or pass --buckets / --images`);
  const datasets: PlanDataset[] = [];
  let guiCount = 0;
  for (const bp of blueprints) {
    const ds = await loadDataset(bp, { allow_duplicates: true, progress: false, log: (l) => lines.push(l) });
    lines.push(...formatBucketSummary(ds.buckets));
    datasets.push({ bucketCounts: ds.buckets.manager.buckets.map((b) => b.length), batchSize: bp.params.batch_size });
    // kohya_ss' estimate counts only these extensions, train folders only (lora_gui.py:616-632).
    for (const s of bp.subsets) {
      if (s.is_reg) continue;
      guiCount += s.num_repeats * listImages(s.image_dir).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).length;
    }
  }
  return { datasets, guiImagesTimesRepeats: guiCount, regFactor: c.reg_data_dir ? 2 : 1, lines };
}

function parseCounts(v: string): number[] {
  const counts = v.split(',').map((s) => Number(s.trim()));
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new InvalidArgumentError('comma-separated integers ≥ 0 are expected, e.g. 70,50,30');
  }
  return counts;
}

function parsePositive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('an integer ≥ 1 is expected');
  return n;
}

interface PlanOptions {
  json?: boolean;
  applyAllKeys?: boolean;
  keepTMax?: boolean;
  buckets?: number[];
  images?: number;
  repeats: number;
  data?: string;
}

function points(ps: readonly PlanPoint[]): string {
  if (ps.length === 0) return 'none';
  const shown = ps.length > 12 ? [...ps.slice(0, 6), undefined, ...ps.slice(-3)] : ps;
  return shown.map((p) => (p ? `e${p.epoch}/s${p.step}` : '…')).join(' ');
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('steps per epoch, total optimizer steps, T_max, save and sample points for a config')
    .argument('<config>', 'kohya_ss GUI JSON or sd-scripts TOML')
    .option('--data <dir>', 'dataset folder with N_name subfolders (train_data_dir), as for lyco train')
    .option('--json', 'print the plan as JSON (stepsPerEpoch, totalSteps, tMax, ...)')
    .option('--apply-all-keys', 'apply every key as written instead of as kohya_ss passed them')
    .option('--keep-t-max', "keep the config's T_max instead of setting it to the planned steps")
    .option('--buckets <counts>', 'images × repeats per bucket, comma-separated (instead of scanning)', parseCounts)
    .option('--images <n>', 'number of images, one bucket (instead of scanning)', parsePositive)
    .option('--repeats <n>', 'repeats for --images', parsePositive, 1)
    .action(async (file: string, o: PlanOptions) => {
      const loaded = loadConfig(file, { applyAllKeys: o.applyAllKeys, argv: o.data ? ['--train_data_dir', o.data] : undefined });
      let counts: DatasetCounts;
      if (o.buckets) counts = { datasets: [{ bucketCounts: o.buckets }], lines: [] };
      else if (o.images !== undefined) counts = { datasets: [{ bucketCounts: [o.images * o.repeats] }], lines: [] };
      else counts = await datasetFromConfig(loaded);
      const input = planInputFromConfig(loaded.config, loaded.hints, counts.datasets, {
        imagesTimesRepeats: counts.guiImagesTimesRepeats,
        regFactor: counts.regFactor,
      });
      const plan = planTraining(input);
      const resolved = applyPlan(loaded.config, plan, { keepTMax: o.keepTMax });
      const warnings = loaded.diagnostics.map(formatDiagnostic);
      if (o.json) {
        console.log(
          JSON.stringify(
            {
              config: file,
              mode: loaded.mode,
              ...plan,
              tMaxGiven: input.tMax ?? null,
              tMaxEffective: resolved.config.lr_scheduler_args.T_max ?? null,
              tMaxMessage: resolved.message ?? null,
              warnings,
            },
            null,
            2,
          ),
        );
        return;
      }
      for (const w of warnings) console.error(w);
      for (const l of counts.lines) console.log(l);
      const c = loaded.config;
      const lines = [
        `config: ${file} (${loaded.format}, ${loaded.mode === 'kohya' ? 'as kohya_ss ran it' : 'every key as written'})`,
        `images × repeats: ${plan.imagesWithRepeats} → ${plan.batchesPerEpoch} batches per epoch (batch size ${c.train_batch_size}, batches formed per bucket)`,
        `steps per epoch: ${plan.stepsPerEpoch} optimizer steps (gradient accumulation ${c.gradient_accumulation_steps})`,
        `total steps: ${plan.totalSteps} (from ${plan.stepsSource}) in ${plan.epochs} epochs${plan.lastEpochSteps < plan.stepsPerEpoch ? `, the last one ${plan.lastEpochSteps} steps` : ''}`,
        `T_max: ${plan.tMax}${resolved.message ? ` — ${resolved.message}` : ''}`,
        `lr warmup steps: ${plan.lrWarmupSteps}`,
        `saves: ${points(plan.saves)}; final e${plan.finalSave.epoch}/s${plan.finalSave.step}`,
        `samples: ${points(plan.samples)}`,
        ...plan.notes.map((n) => `note: ${n}`),
      ];
      for (const l of lines) console.log(l);
    });
}
