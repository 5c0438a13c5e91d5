// Saving and restoring a running training: adapter + state at save points, resume from a state
// (refusing one saved by another run), and the cut-off a d*lr rollback applies.
import type { TrainConfig } from '../config/index.ts';
import { DlrSpikeDetector } from '../monitor/spike.ts';
import { pruneOld, type SaveKind, saveAdapter, saveName } from './artifacts.ts';
import { loadTrainState, type Progress, readTrainState, saveTrainState } from './checkpoint-state.ts';
import { nowSeconds } from './clock.ts';
import { trainingMetadata } from './metadata.ts';
import { buildScheduler } from './optimizer-config.ts';
import type { Run, SaveRecord } from './run.ts';
import { makeSampler } from './setup-data.ts';

function live(run: Run) {
  return { network: run.network, optimizer: run.optimizer, scheduler: run.scheduler, noiseGenerator: run.noiseGenerator };
}

/** The parts of a run a state only fits when equal. */
function fingerprint(run: Run): Record<string, string | number> {
  const n = run.network;
  return {
    seed: run.seed,
    network: `${n.config.networkModule}/${n.config.algo}: ${n.adapters.length} modules, ${n.trainedValues()} values`,
    batchesPerEpoch: run.planned.plan.batchesPerEpoch,
    gradient_accumulation_steps: run.cfg.gradient_accumulation_steps,
    optimizer_type: run.cfg.optimizer_type,
  };
}

/** Restores a state folder; returns where the loop continues. */
export function restore(run: Run, dir: string): Progress {
  const saved = readTrainState(dir).fingerprint ?? {};
  const now = fingerprint(run);
  for (const [k, v] of Object.entries(saved)) {
    if (now[k] !== v)
      throw new Error(`--resume ${dir}: the state was saved with ${k} ${v}, this run has ${now[k]}; resume with the same config and data`);
  }
  const s = loadTrainState(dir, live(run));
  // A fresh sampler replays the data order from the seed up to the saved position.
  run.sampler = makeSampler(run.datasets, run.cfg, run.seed);
  run.pyNoise.setState(s.pyNoise);
  run.losses.load(s.lossRecorder);
  if (s.spike) run.detector = DlrSpikeDetector.fromState(s.spike);
  // A state saved without loss scaling leaves a fresh scale; one saved with it, by a run without, is not needed.
  if (run.scaler && s.gradScaler) run.scaler.loadStateDict(s.gradScaler);
  run.meta = { ...s.meta, savedSteps: [...s.meta.savedSteps] };
  run.metaCtx.sessionId = s.meta.sessionId;
  run.metaCtx.trainingStartedAt = s.meta.trainingStartedAt;
  if (s.cutoff !== undefined && s.cutoff !== run.cfg.max_train_steps) applyCutoff(run, s.cutoff, s.progress.globalStep);
  run.position = s.progress;
  return s.progress;
}

/**
 * Shortens the run to `cutoff` steps (after a spike): max_train_steps and, for
 * CosineAnnealingLR, T_max become the cut-off; the scheduler is rebuilt as if the run had been
 * planned that way and fast-forwarded to `atStep`.
 */
export function applyCutoff(run: Run, cutoff: number, atStep: number): void {
  const cfg: TrainConfig = { ...run.cfg, max_train_steps: cutoff, lr_scheduler_args: { ...run.cfg.lr_scheduler_args } };
  if (cfg.lr_scheduler_type.endsWith('CosineAnnealingLR')) cfg.lr_scheduler_args.T_max = cutoff;
  const base = run.scheduler.baseLrs;
  run.optimizer.paramGroups.forEach((g, i) => {
    g.lr = base[i];
  });
  const sched = buildScheduler(cfg, run.optimizer);
  // Steps loss scaling skipped did not step the scheduler.
  const stepped = atStep - (run.scaler?.skippedSteps ?? 0);
  for (let i = 0; i < stepped; i++) sched.step();
  run.scheduler = sched;
  run.cfg = cfg;
  run.step.cfg = cfg;
  run.metaCtx.cfg = cfg;
  run.result.plannedSteps = cutoff;
  run.progress?.setTotal(cutoff);
}

export function save(run: Run, kind: SaveKind, n: number, progress: Progress, withState: boolean): SaveRecord {
  const name = saveName(run.cfg, run.outputDir, kind, n);
  const epoch = kind === 'epoch' ? n : Math.min(progress.epoch, run.planned.plan.epochs);
  const meta = trainingMetadata(run.metaCtx, progress.globalStep, epoch, nowSeconds());
  saveAdapter(run.cfg, run.network, name.file, meta);
  const rec: SaveRecord = { kind, step: progress.globalStep, epoch, file: name.file };
  if (withState) {
    if (!run.meta.savedSteps.includes(progress.globalStep)) run.meta.savedSteps.push(progress.globalStep);
    saveTrainState(name.stateDir, live(run), {
      progress,
      meta: run.meta,
      lossRecorder: run.losses.state(),
      spike: run.detector?.state(),
      pyNoise: run.pyNoise.getState(),
      gradScaler: run.scaler?.stateDict(),
      cutoff: run.result.rolledBackTo !== undefined ? run.cfg.max_train_steps : undefined,
      fingerprint: fingerprint(run),
      tMax: typeof run.cfg.lr_scheduler_args.T_max === 'number' ? run.cfg.lr_scheduler_args.T_max : undefined,
    });
    rec.stateDir = name.stateDir;
  }
  run.result.saves.push(rec);
  run.lastSave = name.file;
  if (kind !== 'final') pruneOld(run.cfg, run.outputDir, kind, n);
  return rec;
}

/** States are kept with every save when asked (save_state), and always for rollback. */
export const wantState = (run: Run) => run.cfg.save_state || run.opts.dlrSpike === 'rollback';
