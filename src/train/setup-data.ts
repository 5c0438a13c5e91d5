// The dataset side of a run: scan and bucket the images (src/data), plan the steps the way
// sd-scripts counts them, encode every image once into the latent cache, and the epoch sampler
// whose order is a pure function of (seed, epoch) so a resumed run can replay it. A
// dataset_config with several datasets trains over their union (dataset-group.ts).
import type { LoadedConfig, TrainConfig } from '../config/index.ts';
import { blueprintFromFolders, type DatasetArgs, type FolderWarning, loadDatasetConfig } from '../data/dataset-config.ts';
import { datasetSeed, EpochSampler } from '../data/epoch-batches.ts';
import { cacheLatents, type LatentCache } from '../data/latent-cache.ts';
import { type LoadedDataset, loadDataset } from '../data/load-dataset.ts';
import type { AutoencoderKL } from '../models/index.ts';
import * as torch from '../torch/index.ts';
import { type BatchSource, CacheUnion, type LatentSource, SamplerUnion } from './dataset-group.ts';
import { applyPlan, planInputFromConfig, planTraining, type TrainingPlan } from './plan.ts';

export function datasetArgs(c: TrainConfig): DatasetArgs {
  return {
    resolution: c.resolution,
    batch_size: c.train_batch_size,
    enable_bucket: c.enable_bucket,
    min_bucket_reso: c.min_bucket_reso,
    max_bucket_reso: c.max_bucket_reso,
    bucket_reso_steps: c.bucket_reso_steps,
    bucket_no_upscale: c.bucket_no_upscale,
    prior_loss_weight: c.prior_loss_weight,
    caption_extension: c.caption_extension,
    shuffle_caption: c.shuffle_caption,
    keep_tokens: c.keep_tokens,
    caption_dropout_rate: c.caption_dropout_rate,
    caption_dropout_every_n_epochs: c.caption_dropout_every_n_epochs,
    caption_tag_dropout_rate: c.caption_tag_dropout_rate,
    token_warmup_min: c.token_warmup_min,
    token_warmup_step: c.token_warmup_step,
    color_aug: c.color_aug,
    flip_aug: c.flip_aug,
    random_crop: c.random_crop,
  };
}

/** The run's datasets: one from folders, or each [[datasets]] of a dataset_config (trained as their union). */
export async function loadRunDatasets(
  c: TrainConfig,
  log: (l: string) => void,
  o: { allowDuplicates?: boolean } = {},
): Promise<LoadedDataset[]> {
  const args = datasetArgs(c);
  const warnings: FolderWarning[] = [];
  let bps = c.dataset_config ? loadDatasetConfig(c.dataset_config, args) : undefined;
  if (!bps) {
    if (!c.train_data_dir) throw new Error('no train_data_dir or dataset_config: pass --data DIR or set train_data_dir');
    bps = [blueprintFromFolders(c.train_data_dir, c.reg_data_dir, args, warnings)];
  }
  for (const w of warnings) log(w.message);
  const out: LoadedDataset[] = [];
  for (const bp of bps) out.push(await loadDataset(bp, { progress: false, log, allow_duplicates: o.allowDuplicates }));
  return out;
}

export interface PlannedRun {
  plan: TrainingPlan;
  /** The config the loop runs: max_train_steps and (CosineAnnealingLR) T_max from the plan. */
  config: TrainConfig;
  tMaxMessage?: string;
}

export function planRun(loaded: LoadedConfig, cfg: TrainConfig, datasets: readonly LoadedDataset[], keepTMax = false): PlannedRun {
  const counts = datasets.map((ds) => ({ bucketCounts: ds.buckets.manager.buckets.map((b) => b.length), batchSize: ds.params.batch_size }));
  const plan = planTraining(planInputFromConfig(cfg, loaded.hints, counts, { regFactor: cfg.reg_data_dir ? 2 : 1 }));
  const r = applyPlan(cfg, plan, { keepTMax });
  return { plan, config: r.config, tMaxMessage: r.message };
}

/** The latents of every dataset's images (dataset i's draws seeded by seed + i). */
export async function encodeLatents(
  datasets: readonly LoadedDataset[],
  vae: AutoencoderKL,
  c: TrainConfig,
  seed: number,
): Promise<LatentSource> {
  const caches: LatentCache[] = [];
  for (const [i, ds] of datasets.entries()) caches.push(await encodeDataset(ds, vae, c, seed + i));
  return caches.length === 1 ? caches[0] : new CacheUnion(caches, datasets);
}

/** The VAE's posterior sample for every image, drawn from a generator seeded by `seed` (same cache on resume). */
async function encodeDataset(ds: LoadedDataset, vae: AutoencoderKL, c: TrainConfig, seed: number): Promise<LatentCache> {
  const g = new torch.Generator({ seed });
  return cacheLatents(ds, (x) => torch.noGrad(() => vae.encode(x).sample({ generator: g })), {
    mode: c.cache_latents_to_disk ? 'disk' : 'memory',
    encoderId: `vae:${vae.numParameters()}`,
    vae_batch_size: c.vae_batch_size,
    progress: false,
  });
}

/** Each dataset's sampler (its own buckets and batch_size); several are interleaved per epoch. */
export function makeSampler(datasets: readonly LoadedDataset[], c: TrainConfig, seed: number): BatchSource {
  const samplers = datasets.map(
    (ds, i) => new EpochSampler(ds.images, ds.buckets, ds.params.batch_size, datasetSeed(seed + i), c.prior_loss_weight),
  );
  return samplers.length === 1 ? samplers[0] : new SamplerUnion(samplers, datasetSeed(seed));
}
