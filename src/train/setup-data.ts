// The dataset side of a run: scan and bucket the images (src/data), plan the steps the way
// sd-scripts counts them, encode every image once into the latent cache, and the epoch sampler
// whose order is a pure function of (seed, epoch) so a resumed run can replay it.
import type { LoadedConfig, TrainConfig } from '../config/index.ts';
import { blueprintFromFolders, type DatasetArgs, type FolderWarning, loadDatasetConfig } from '../data/dataset-config.ts';
import { datasetSeed, EpochSampler } from '../data/epoch-batches.ts';
import { cacheLatents, type LatentCache } from '../data/latent-cache.ts';
import { type LoadedDataset, loadDataset } from '../data/load-dataset.ts';
import type { AutoencoderKL } from '../models/index.ts';
import * as torch from '../torch/index.ts';
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

export async function loadRunDataset(c: TrainConfig, log: (l: string) => void): Promise<LoadedDataset> {
  const args = datasetArgs(c);
  const warnings: FolderWarning[] = [];
  let bps = c.dataset_config ? loadDatasetConfig(c.dataset_config, args) : undefined;
  if (!bps) {
    if (!c.train_data_dir) throw new Error('no train_data_dir or dataset_config: pass --data DIR or set train_data_dir');
    bps = [blueprintFromFolders(c.train_data_dir, c.reg_data_dir, args, warnings)];
  }
  for (const w of warnings) log(w.message);
  if (bps.length !== 1) throw new Error(`dataset_config has ${bps.length} datasets; lyco train reads one dataset for now`);
  return loadDataset(bps[0], { progress: false, log });
}

export interface PlannedRun {
  plan: TrainingPlan;
  /** The config the loop runs: max_train_steps and (CosineAnnealingLR) T_max from the plan. */
  config: TrainConfig;
  tMaxMessage?: string;
}

export function planRun(loaded: LoadedConfig, cfg: TrainConfig, ds: LoadedDataset, keepTMax = false): PlannedRun {
  const counts = [{ bucketCounts: ds.buckets.manager.buckets.map((b) => b.length), batchSize: ds.params.batch_size }];
  const plan = planTraining(planInputFromConfig(cfg, loaded.hints, counts, { regFactor: cfg.reg_data_dir ? 2 : 1 }));
  const r = applyPlan(cfg, plan, { keepTMax });
  return { plan, config: r.config, tMaxMessage: r.message };
}

/** The VAE's posterior sample for every image, drawn from a generator seeded by `seed` (same cache on resume). */
export async function encodeLatents(ds: LoadedDataset, vae: AutoencoderKL, c: TrainConfig, seed: number): Promise<LatentCache> {
  const g = new torch.Generator({ seed });
  return cacheLatents(ds, (x) => torch.noGrad(() => vae.encode(x).sample({ generator: g })), {
    mode: c.cache_latents_to_disk ? 'disk' : 'memory',
    encoderId: `vae:${vae.numParameters()}`,
    vae_batch_size: c.vae_batch_size,
    progress: false,
  });
}

export function makeSampler(ds: LoadedDataset, c: TrainConfig, seed: number): EpochSampler {
  return new EpochSampler(ds.images, ds.buckets, ds.params.batch_size, datasetSeed(seed), c.prior_loss_weight);
}
