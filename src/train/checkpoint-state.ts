// The training state next to a save (sd-scripts' `<name>-state` folders), enough to continue a
// run bit for bit: network tensors in float32, the optimizer's state dict, the scheduler, every
// random generator (torch's default, the noise generator, the pyramid-noise PyRandom), the data
// position (epoch, batches done in it), the global step, the loss window, the d*lr detector and
// the fp16 loss scale.
// A state folder is written under a temporary name and renamed into place, so a kill at any
// moment leaves either the previous folder or the new one, never a partial one.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { AdapterNetwork } from '../adapters/network.ts';
import type { SpikeState } from '../monitor/spike.ts';
import type { LRScheduler, OptimizerStateDict, SchedulerState } from '../optim/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { GradScalerState } from './grad-scaler.ts';
import type { LossRecorderState } from './loss-recorder.ts';
import type { AnyOptimizer } from './optimizer-config.ts';

export const STATE_JSON = 'train_state.json';
export const STATE_TENSORS = 'state.safetensors';
const FORMAT = 'lyco-train-state-1';

export interface Progress {
  /** 1-based epoch the next micro-batch belongs to. */
  epoch: number;
  /** Micro-batches of that epoch already trained. */
  batchesDone: number;
  /** Optimizer steps done. */
  globalStep: number;
}

export interface RunMeta {
  sessionId: number;
  trainingStartedAt: number;
  /** Steps with an adapter + state saved (rollback targets). */
  savedSteps: number[];
}

export interface TrainState {
  format: string;
  progress: Progress;
  meta: RunMeta;
  scheduler: SchedulerState;
  lossRecorder: LossRecorderState;
  spike?: SpikeState;
  pyNoise: { mt: number[]; mti: number };
  /** Set after a d*lr rollback: the run's max_train_steps and T_max were cut to this step. */
  cutoff?: number;
  /** fp16 loss scaling: the scale, its growth tracker and the steps skipped so far. */
  gradScaler?: GradScalerState;
  /** What must not change between a run and its resume (seed, network, data, accumulation). */
  fingerprint?: Record<string, string | number>;
  tMax?: number;
}

interface Live {
  network: AdapterNetwork;
  optimizer: AnyOptimizer;
  scheduler: LRScheduler;
  noiseGenerator: torch.Generator;
}

// JSON has no Infinity/NaN (Prodigy's growth_rate defaults to inf): tag them.
const replacer = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v);
const reviver = (_k: string, v: unknown) =>
  v && typeof v === 'object' && '$num' in (v as object) ? Number((v as { $num: string }).$num) : v;

function writeSynced(path: string, data: string): void {
  writeFileSync(path, data);
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function saveTrainState(dir: string, live: Live, state: Omit<TrainState, 'format' | 'scheduler'>): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const opt = live.optimizer.stateDict();
  const scalars: Record<string, Record<string, number>> = {};
  torch.scope(() => {
    const tensors = new Map<string, Tensor>();
    for (const [k, t] of live.network.stateDict()) tensors.set(`network.${k}`, t.detach());
    for (const [id, st] of Object.entries(opt.state)) {
      for (const [k, v] of Object.entries(st)) {
        if (typeof v === 'number') (scalars[id] ??= {})[k] = v;
        else tensors.set(`optimizer.${id}.${k}`, v);
      }
    }
    tensors.set('rng.torch', torch.getRngState());
    tensors.set('rng.noise', live.noiseGenerator.getState());
    torch.safetensors.save(join(tmp, STATE_TENSORS), tensors, { format: FORMAT });
  });
  const full: TrainState & { optimizer: { paramGroups: OptimizerStateDict['paramGroups']; scalars: typeof scalars } } = {
    format: FORMAT,
    ...state,
    scheduler: live.scheduler.stateDict(),
    optimizer: { paramGroups: opt.paramGroups, scalars },
  };
  writeSynced(join(tmp, STATE_JSON), JSON.stringify(full, replacer, 1));
  if (existsSync(dir)) {
    const old = `${dir}.old-${process.pid}`;
    renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(tmp, dir);
}

/** Reads only the JSON part (progress, meta) of a state folder. */
export function readTrainState(dir: string): TrainState {
  const path = join(dir, STATE_JSON);
  if (!existsSync(path)) throw new Error(`${dir}: not a lyco training state (no ${STATE_JSON}); pass a folder ending in -state`);
  const s = JSON.parse(readFileSync(path, 'utf8'), reviver) as TrainState;
  if (s.format !== FORMAT) throw new Error(`${dir}: training state format ${s.format}, this lyco reads ${FORMAT}`);
  return s;
}

/** Restores network, optimizer, scheduler and generators in place; returns the JSON state. */
export function loadTrainState(dir: string, live: Live): TrainState {
  const s = readTrainState(dir) as TrainState & {
    optimizer: { paramGroups: OptimizerStateDict['paramGroups']; scalars: Record<string, Record<string, number>> };
  };
  const file = torch.safetensors.load(join(dir, STATE_TENSORS));
  try {
    const net = new Map<string, Tensor>();
    const state: OptimizerStateDict['state'] = {};
    for (const [id, sc] of Object.entries(s.optimizer.scalars)) state[Number(id)] = { ...sc };
    for (const [key, t] of file) {
      if (key.startsWith('network.')) net.set(key.slice('network.'.length), t);
      else if (key.startsWith('optimizer.')) {
        const [, id, ...rest] = key.split('.');
        (state[Number(id)] ??= {})[rest.join('.')] = t;
      }
    }
    live.network.loadStateDict(net, { strict: true, source: join(dir, STATE_TENSORS) });
    live.optimizer.loadStateDict({ state, paramGroups: s.optimizer.paramGroups });
    live.scheduler.loadStateDict(s.scheduler);
    const rngTorch = file.get('rng.torch');
    const rngNoise = file.get('rng.noise');
    if (!rngTorch || !rngNoise) throw new Error(`${dir}: the training state has no random generator states`);
    torch.setRngState(rngTorch);
    live.noiseGenerator.setState(rngNoise);
  } finally {
    file.dispose();
  }
  return s;
}

/**
 * `--resume` accepts a `-state` folder, or an output folder: then its newest complete state
 * (highest step; half-written `.tmp-` folders are ignored).
 */
export function resolveResume(dir: string): string {
  if (existsSync(join(dir, STATE_JSON))) return dir;
  const states = existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => n.endsWith('-state') && existsSync(join(dir, n, STATE_JSON)))
        .map((n) => ({ path: join(dir, n), step: readTrainState(join(dir, n)).progress.globalStep }))
    : [];
  if (states.length === 0) throw new Error(`--resume ${dir}: no training state there (a -state folder, or an output folder holding one)`);
  return states.sort((a, b) => b.step - a.step)[0].path;
}
