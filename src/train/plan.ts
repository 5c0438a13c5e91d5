// Step arithmetic of sd-scripts' train_network.py, as a pure function of per-bucket image counts,
// so that "how many steps is 200 epochs?" is answered before any image is decoded.
// References are to kohya-ss/sd-scripts @ 48d368fa (same arithmetic as v0.6.5, July 2023):
//   batches per epoch  library/train_util.py:BaseDataset.make_buckets  (ceil(len(bucket)/batch_size) per bucket)
//   max_train_steps    train_network.py:799-801  (max_train_epochs * ceil(len(dataloader)/processes/GA))
//   epochs in the loop train_network.py:978-979  (ceil(max_train_steps / ceil(len(dataloader)/GA)))
//   epoch saves        train_network.py:1693-1694 ((epoch+1) % n == 0 and epoch+1 < num_train_epochs)
//   step saves         train_network.py:1497     (global_step % n == 0)
//   sampling           library/train_util.py:sample_images_common (epochs win over steps)
//   scheduler horizon  library/train_util.py:get_scheduler_fix (max_train_steps * processes)
import type { GuiHints, TrainConfig } from '../config/index.ts';

export interface PlanDataset {
  /** Images per bucket, repeats included (`n_b`); batches never mix buckets. */
  bucketCounts: readonly number[];
  /** Batch size of this dataset (a dataset config may set one per dataset); default `trainBatchSize`. */
  batchSize?: number;
}

export interface PlanInput {
  /** Datasets of the training run (a DatasetGroup concatenates their batches). */
  datasets: readonly PlanDataset[];
  trainBatchSize: number;
  gradientAccumulationSteps: number;
  /** When set, overrides maxTrainSteps (sd-scripts train_network.py:799). */
  maxTrainEpochs?: number;
  /** sd-scripts default 1600. */
  maxTrainSteps?: number;
  numProcesses?: number;
  saveEveryNEpochs?: number;
  saveEveryNSteps?: number;
  saveNEpochRatio?: number;
  sampleEveryNEpochs?: number;
  sampleEveryNSteps?: number;
  sampleAtFirst?: boolean;
  /** kohya_ss GUI: when neither max_train_epochs nor the max_train_steps field is set, the GUI passes its estimate. */
  gui?: {
    epoch?: number;
    /** Σ images × repeats over the train folders, as the GUI counts them (jpg, jpeg, png, webp only). */
    imagesTimesRepeats?: number;
    /** 2 when a regularisation folder is given. */
    regFactor?: number;
    lrWarmupPercent?: number;
  };
  /** lr_warmup_steps as sd-scripts holds it: an integer count, or a fraction of the scheduler steps. */
  lrWarmupSteps?: number;
  /** T_max from lr_scheduler_args, when given. */
  tMax?: number;
}

export type StepsSource = 'max_train_epochs' | 'max_train_steps' | 'kohya_ss epoch estimate';

export interface PlanPoint {
  epoch: number;
  step: number;
}

export interface TrainingPlan {
  /** Σ images × repeats over all buckets. */
  imagesWithRepeats: number;
  /** len(train_dataloader): bucket batches per epoch. */
  batchesPerEpoch: number;
  /** Optimizer steps per epoch: ceil(batches per process / GA); the last partial accumulation is flushed. */
  stepsPerEpoch: number;
  /** max_train_steps: optimizer steps of the whole run. */
  totalSteps: number;
  stepsSource: StepsSource;
  /** num_train_epochs: the loop bound; the last epoch may stop early. */
  epochs: number;
  /** Optimizer steps run in the last epoch. */
  lastEpochSteps: number;
  /** Scheduler steps of the run: the T_max of one clean CosineAnnealingLR half-period. */
  tMax: number;
  /** The kohya_ss GUI's own step estimate (ignores per-bucket rounding), when it applies. */
  guiEstimateSteps?: number;
  /** Warmup in scheduler steps, as sd-scripts or the kohya_ss GUI computes it. */
  lrWarmupSteps: number;
  saves: PlanPoint[];
  samples: PlanPoint[];
  /** The final save after the loop. */
  finalSave: PlanPoint;
  /** Lines for the user: where the plan disagrees with the config. */
  notes: string[];
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** Python's round(): halves go to the even neighbour. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function planTraining(input: PlanInput): TrainingPlan {
  const ga = input.gradientAccumulationSteps;
  const procs = input.numProcesses ?? 1;
  const notes: string[] = [];
  for (const [name, v] of [
    ['train_batch_size', input.trainBatchSize],
    ['gradient_accumulation_steps', ga],
    ['numProcesses', procs],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${v}`);
  }
  let images = 0;
  let batches = 0;
  for (const ds of input.datasets) {
    const bs = ds.batchSize ?? input.trainBatchSize;
    for (const n of ds.bucketCounts) {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`bucket image count must be an integer ≥ 0, got ${n}`);
      images += n;
      batches += ceilDiv(n, bs);
    }
  }
  if (batches === 0) throw new RangeError('the dataset has no images: nothing to plan');

  // accelerate shards the loader across processes; each process then flushes its last accumulation.
  const stepsPerEpoch = ceilDiv(ceilDiv(batches, procs), ga);

  let guiEstimateSteps: number | undefined;
  const gui = input.gui;
  if (gui?.epoch !== undefined) {
    // kohya_ss lora_gui.py: ceil(total / batch / GA * epoch * reg_factor), in floats. Without the
    // GUI's own folder count, the bucket total stands in for it (equal unless .bmp/.avif images exist).
    const total = gui.imagesTimesRepeats ?? images;
    guiEstimateSteps = Math.ceil((total / input.trainBatchSize / ga) * gui.epoch * (gui.regFactor ?? 1));
  }

  let totalSteps: number;
  let stepsSource: StepsSource;
  if (input.maxTrainEpochs !== undefined) {
    totalSteps = input.maxTrainEpochs * ceilDiv(batches / procs, ga);
    stepsSource = 'max_train_epochs';
  } else if (input.maxTrainSteps !== undefined) {
    totalSteps = input.maxTrainSteps;
    stepsSource = 'max_train_steps';
  } else if (guiEstimateSteps !== undefined) {
    totalSteps = guiEstimateSteps;
    stepsSource = 'kohya_ss epoch estimate';
  } else {
    totalSteps = 1600;
    stepsSource = 'max_train_steps';
  }
  if (totalSteps <= 0) throw new RangeError(`the run has ${totalSteps} optimizer steps: nothing to train`);

  const epochs = ceilDiv(totalSteps, stepsPerEpoch);
  const lastEpochSteps = totalSteps - (epochs - 1) * stepsPerEpoch;
  const tMax = totalSteps * procs;
  const stepAtEpochEnd = (e: number) => Math.min(e * stepsPerEpoch, totalSteps);
  if (stepsSource === 'kohya_ss epoch estimate' && gui?.epoch !== undefined && lastEpochSteps < stepsPerEpoch) {
    notes.push(
      `kohya_ss turns epoch ${gui.epoch} into ${totalSteps} steps without per-bucket rounding; sd-scripts makes ${stepsPerEpoch} steps per epoch, so the run ends ${stepsPerEpoch - lastEpochSteps} steps into epoch ${epochs} short of a full epoch`,
    );
  }

  let lrWarmupSteps = 0;
  if (gui?.lrWarmupPercent !== undefined && guiEstimateSteps !== undefined) {
    // kohya_ss 21.8: round(lr_warmup * max_train_steps / 100) with the GUI's own max_train_steps.
    const base = input.maxTrainSteps ?? guiEstimateSteps;
    lrWarmupSteps = pyRound((gui.lrWarmupPercent * base) / 100);
  } else if (input.lrWarmupSteps !== undefined) {
    const w = input.lrWarmupSteps;
    lrWarmupSteps = Number.isInteger(w) ? w : Math.trunc(w * tMax);
  }

  let saveEveryNEpochs = input.saveEveryNEpochs;
  if (input.saveNEpochRatio !== undefined) saveEveryNEpochs = Math.floor(epochs / input.saveNEpochRatio) || 1;
  const saves: PlanPoint[] = [];
  const samples: PlanPoint[] = [];
  if (input.sampleAtFirst) samples.push({ epoch: 0, step: 0 });
  // Walk the run in order: step events inside each epoch, then the epoch-end events.
  for (let e = 1; e <= epochs; e++) {
    const first = (e - 1) * stepsPerEpoch + 1;
    const last = stepAtEpochEnd(e);
    for (let g = first; g <= last; g++) {
      if (input.sampleEveryNEpochs === undefined && input.sampleEveryNSteps && g % input.sampleEveryNSteps === 0) {
        samples.push({ epoch: e, step: g });
      }
      if (input.saveEveryNSteps && g % input.saveEveryNSteps === 0) saves.push({ epoch: e, step: g });
    }
    if (saveEveryNEpochs && e % saveEveryNEpochs === 0 && e < epochs) saves.push({ epoch: e, step: last });
    if (input.sampleEveryNEpochs && e % input.sampleEveryNEpochs === 0) samples.push({ epoch: e, step: last });
  }

  if (input.tMax !== undefined && input.tMax !== tMax) {
    const periods = tMax / (2 * input.tMax);
    notes.push(
      input.tMax < tMax
        ? `T_max=${input.tMax} but the run has ${tMax} scheduler steps: CosineAnnealingLR counts optimizer steps and is periodic, so the lr reaches 0 at step ${input.tMax} and climbs back to its start at ${2 * input.tMax} (${periods.toFixed(2)} periods)`
        : `T_max=${input.tMax} but the run has ${tMax} scheduler steps: the lr ends at ${(0.5 * (1 + Math.cos((Math.PI * tMax) / input.tMax))).toFixed(4)} of its start instead of 0`,
    );
  }

  return {
    imagesWithRepeats: images,
    batchesPerEpoch: batches,
    stepsPerEpoch,
    totalSteps,
    stepsSource,
    epochs,
    lastEpochSteps,
    tMax,
    guiEstimateSteps,
    lrWarmupSteps,
    saves,
    samples,
    finalSave: { epoch: epochs, step: totalSteps },
    notes,
  };
}

/** The plan's inputs that come from the config (the dataset's bucket counts come from src/data). */
export function planInputFromConfig(
  cfg: TrainConfig,
  hints: GuiHints,
  datasets: readonly PlanDataset[],
  gui?: { imagesTimesRepeats?: number; regFactor?: number },
): PlanInput {
  const tMax = cfg.lr_scheduler_args.T_max;
  return {
    datasets,
    trainBatchSize: cfg.train_batch_size,
    gradientAccumulationSteps: cfg.gradient_accumulation_steps,
    maxTrainEpochs: cfg.max_train_epochs,
    // The GUI always passes --max_train_steps (its estimate) unless its field is filled.
    maxTrainSteps: hints.epoch !== undefined ? hints.maxTrainStepsField : cfg.max_train_steps,
    saveEveryNEpochs: cfg.save_every_n_epochs,
    saveEveryNSteps: cfg.save_every_n_steps,
    saveNEpochRatio: cfg.save_n_epoch_ratio,
    sampleEveryNEpochs: cfg.sample_every_n_epochs,
    sampleEveryNSteps: cfg.sample_every_n_steps,
    sampleAtFirst: cfg.sample_at_first,
    gui:
      hints.epoch !== undefined
        ? {
            epoch: hints.epoch,
            lrWarmupPercent: hints.lrWarmupPercent,
            imagesTimesRepeats: gui?.imagesTimesRepeats,
            regFactor: gui?.regFactor,
          }
        : undefined,
    lrWarmupSteps: cfg.lr_warmup_steps,
    tMax: typeof tMax === 'number' ? tMax : undefined,
  };
}

export interface TMaxResolution {
  config: TrainConfig;
  /** One line when T_max was absent or disagreed with the plan; undefined when it already matched. */
  message?: string;
}

/**
 * The config the trainer runs: max_train_steps from the plan and, for CosineAnnealingLR, T_max set
 * to the planned scheduler steps (the guide tells users to do this by hand). With `keepTMax`, a
 * user's T_max is kept as written and only reported.
 */
export function applyPlan(cfg: TrainConfig, plan: TrainingPlan, opts: { keepTMax?: boolean } = {}): TMaxResolution {
  const out: TrainConfig = {
    ...cfg,
    max_train_steps: plan.totalSteps,
    lr_warmup_steps: plan.lrWarmupSteps,
    lr_scheduler_args: { ...cfg.lr_scheduler_args },
  };
  const type = cfg.lr_scheduler_type.split('.').pop() ?? '';
  if (type !== 'CosineAnnealingLR') return { config: out };
  const given = cfg.lr_scheduler_args.T_max;
  if (given === plan.tMax) return { config: out };
  if (opts.keepTMax && typeof given === 'number') {
    return { config: out, message: `T_max=${given} kept as written; the run has ${plan.tMax} scheduler steps` };
  }
  out.lr_scheduler_args.T_max = plan.tMax;
  const message =
    given === undefined
      ? `T_max not given: set to ${plan.tMax}, the planned optimizer steps`
      : `T_max=${String(given)} replaced by ${plan.tMax}, the planned optimizer steps (keep it with --keep-t-max)`;
  return { config: out, message };
}
