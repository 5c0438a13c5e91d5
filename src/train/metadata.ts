// The ss_* training metadata sd-scripts writes into every adapter it saves (train_network.py:
// train, metadata built once, then ss_training_finished_at / ss_steps / ss_epoch per save),
// from the options as kohya_ss passed them. Values are Python str() renderings.
import { basename } from 'node:path';
import { adapterMetadata } from '../adapters/metadata.ts';
import type { NetworkConfig } from '../adapters/network.ts';
import { pyJsonDumps, pyStr } from '../adapters/py-str.ts';
import type { TrainConfig } from '../config/index.ts';
import type { LoadedDataset } from '../data/load-dataset.ts';
import type { TrainingPlan } from './plan.ts';
import type { BaseModelVersion } from './setup-models.ts';

export interface MetadataContext {
  passed: TrainConfig;
  cfg: TrainConfig;
  network: NetworkConfig;
  plan: TrainingPlan;
  /** The run's datasets; the first one's params (resolution, buckets) stand for the run. */
  datasets: LoadedDataset[];
  modelPath: string;
  baseModel: BaseModelVersion;
  optimizerDescription: string;
  sessionId: number;
  trainingStartedAt: number;
  mixedPrecision: string;
}

/** Tag counts per folder, in first-seen order (Maps: a tag like "1" keeps its place, as in Python's dict). */
function tagFrequency(datasets: readonly LoadedDataset[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const e of datasets.flatMap((ds) => ds.images)) {
    const dir = basename(e.subset.image_dir);
    let f = out.get(dir);
    if (!f) out.set(dir, (f = new Map()));
    for (const tag of e.caption.split(',')) {
      const t = tag.trim().toLowerCase();
      if (t) f.set(t, (f.get(t) ?? 0) + 1);
    }
  }
  return out;
}

/** Metadata of a save made after `step` optimizer steps in `epoch`, finished at `now` (unix seconds). */
export function trainingMetadata(x: MetadataContext, step: number, epoch: number, now: number): Record<string, string> {
  const p = x.passed;
  const c = x.cfg;
  const first = x.datasets[0];
  const [w, h] = first.params.resolution;
  const dirs: Record<string, { n_repeats: number; img_count: number }> = {};
  for (const e of x.datasets.flatMap((ds) => ds.images)) {
    const d = basename(e.subset.image_dir);
    dirs[d] ??= { n_repeats: e.numRepeats, img_count: 0 };
    dirs[d].img_count++;
  }
  const buckets: Record<string, { resolution: number[]; count: number }> = {};
  // Several datasets: their buckets listed one after the other.
  for (const ds of x.datasets) {
    ds.buckets.manager.resos.forEach((r, i) => {
      buckets[String(Object.keys(buckets).length)] = { resolution: [...r], count: ds.buckets.manager.buckets[i].length };
    });
  }
  const sum = (f: (ds: LoadedDataset) => number) => x.datasets.reduce((a, ds) => a + f(ds), 0);
  const extra: Record<string, string> = {
    ss_session_id: String(x.sessionId),
    ss_training_started_at: String(x.trainingStartedAt),
    ss_training_finished_at: String(now),
    ss_learning_rate: pyStr(p.learning_rate, true),
    ss_text_encoder_lr: pyStr(p.text_encoder_lr ?? null, true),
    ss_unet_lr: pyStr(p.unet_lr ?? null, true),
    ss_num_train_images: String(sum((ds) => ds.numTrainImages)),
    ss_num_reg_images: String(sum((ds) => ds.numRegImages)),
    ss_num_batches_per_epoch: String(x.plan.batchesPerEpoch),
    ss_num_epochs: String(x.plan.epochs),
    ss_gradient_checkpointing: pyStr(p.gradient_checkpointing),
    ss_gradient_accumulation_steps: String(p.gradient_accumulation_steps),
    ss_max_train_steps: String(c.max_train_steps),
    ss_lr_warmup_steps: String(c.lr_warmup_steps),
    ss_lr_scheduler: c.lr_scheduler_type || c.lr_scheduler,
    ss_mixed_precision: x.mixedPrecision,
    ss_full_fp16: pyStr(p.full_fp16),
    ss_clip_skip: pyStr(p.clip_skip ?? null),
    ss_max_token_length: pyStr(p.max_token_length ?? null),
    ss_cache_latents: pyStr(p.cache_latents),
    ss_seed: pyStr(p.seed ?? null),
    ss_lowram: 'False',
    ss_noise_offset: pyStr(c.noise_offset ?? null),
    ss_multires_noise_iterations: pyStr(c.multires_noise_iterations ?? null),
    ss_multires_noise_discount: pyStr(c.multires_noise_discount),
    ss_adaptive_noise_scale: pyStr(c.adaptive_noise_scale ?? null),
    ss_optimizer: x.optimizerDescription,
    ss_max_grad_norm: pyStr(c.max_grad_norm, true),
    ss_caption_dropout_rate: pyStr(p.caption_dropout_rate, true),
    ss_caption_dropout_every_n_epochs: String(p.caption_dropout_every_n_epochs),
    ss_caption_tag_dropout_rate: pyStr(p.caption_tag_dropout_rate, true),
    ss_prior_loss_weight: pyStr(p.prior_loss_weight, true),
    ss_min_snr_gamma: pyStr(p.min_snr_gamma ?? null),
    ss_batch_size_per_device: String(c.train_batch_size),
    ss_total_batch_size: String(c.train_batch_size * c.gradient_accumulation_steps),
    ss_resolution: `(${w}, ${h})`,
    ss_shuffle_caption: pyStr(p.shuffle_caption),
    ss_keep_tokens: String(p.keep_tokens),
    ss_enable_bucket: pyStr(first.params.enable_bucket),
    ss_min_bucket_reso: String(first.params.min_bucket_reso),
    ss_max_bucket_reso: String(first.params.max_bucket_reso),
    ss_bucket_no_upscale: pyStr(first.params.bucket_no_upscale),
    ss_color_aug: pyStr(p.color_aug),
    ss_flip_aug: pyStr(p.flip_aug),
    ss_random_crop: pyStr(p.random_crop),
    ss_dataset_dirs: pyJsonDumps(dirs),
    ss_tag_frequency: pyJsonDumps(tagFrequency(x.datasets)),
    ss_bucket_info: pyJsonDumps({ buckets }),
    ss_steps: String(step),
    ss_epoch: String(epoch),
  };
  return adapterMetadata({
    config: x.network,
    networkArgs: Object.keys(p.network_args).length ? p.network_args : undefined,
    trainingComment: p.training_comment,
    outputName: c.output_name,
    title: c.output_name ?? `LoRA@${x.trainingStartedAt}`,
    baseModel: x.baseModel,
    sdModelName: basename(x.modelPath),
    resolution: [w, h],
    scaleWeightNorms: p.scale_weight_norms,
    date: new Date(now * 1000),
    extra,
  });
}
