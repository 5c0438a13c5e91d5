// Online detection of a d*lr spike for D-adapted optimizers (Prodigy), and what to do about it.
//
// The guide tells users to watch `lr/d*lr` in TensorBoard and cut training where it spikes.
// d*lr = d · lr, and lr is the schedule's (known, deterministic) part: a cosine that climbs back
// after T_max, or a warmup, moves d*lr without anything going wrong. So the detector watches d
// itself (given, or d*lr / lr), and calls a spike only a fast rise of d after d had settled.
//
// Definition (defaults in brackets):
// * An observation is *active* when lr ≥ activeLrFraction [0.5] × the largest lr seen so far.
//   Only active steps count for settling: Prodigy's statistics move with d·lr, so during an lr
//   trough d stays flat without having converged (and rises again when lr returns).
// * d is *settled* when the last `window` [20] active values lie within a factor
//   `settleTolerance` [1.05] of each other (max/min). The settled *level* is the median of
//   that window, updated on every settled step, so slow drift is followed, not flagged.
//   Prodigy's early growth is excluded: d only counts as settled once it has risen to at least
//   `minGrowth` [10] × its first observed value (d0); before that, flat stretches (d held at d0
//   while d_hat catches up, typical with safeguard_warmup / bias correction) are not a level.
// * A *spike* is an observation, after d has settled, with d > `ratio` [2] × level. It is
//   reported at the first step that crosses; the cut-off is the last step whose d was still
//   within settleTolerance of the level (for an instant jump at step s: s − 1). After a spike
//   the detector waits for d to settle again, so a warn policy reports later spikes too.
import type { OptimizerLogs } from '../optim/optimizer.ts';

export interface SpikeOptions {
  /** Active steps whose d must agree within settleTolerance before d counts as settled. */
  window: number;
  /** max/min of d over the window for "settled". */
  settleTolerance: number;
  /** d above ratio × settled level is a spike. */
  ratio: number;
  /** lr below this fraction of the peak lr seen does not count towards settling. */
  activeLrFraction: number;
  /** d must reach minGrowth × its first value (d0) before it can settle. */
  minGrowth: number;
}

export const SPIKE_DEFAULTS: SpikeOptions = { window: 20, settleTolerance: 1.05, ratio: 2, activeLrFraction: 0.5, minGrowth: 10 };

export interface DlrObservation {
  /** The global step the values were logged at. */
  step: number;
  /** The scheduled lr (lr/unet). */
  lr: number;
  /** d*lr as logged (lr/d*lr). */
  dLr: number;
  /** Prodigy's d, when known; otherwise dLr / lr (skipped when lr is 0). */
  d?: number;
}

export interface Spike {
  /** First step whose d crossed ratio × level. */
  step: number;
  /** Last step still at the settled level: train this many steps (max_train_steps, T_max). */
  cutoff: number;
  d: number;
  dLr: number;
  /** The settled d it is compared with, and the step that level was last confirmed. */
  level: number;
  levelStep: number;
  /** d / level. */
  factor: number;
}

export interface SpikeState {
  options: SpikeOptions;
  firstD: number | null;
  peakLr: number;
  active: { step: number; d: number }[];
  level: number | null;
  levelStep: number;
  lastAtLevel: number;
  spikes: Spike[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export class DlrSpikeDetector {
  readonly options: SpikeOptions;
  private firstD: number | null = null;
  private peakLr = 0;
  private active: { step: number; d: number }[] = [];
  private level: number | null = null;
  private levelStep = -1;
  private lastAtLevel = -1;
  readonly spikes: Spike[] = [];

  constructor(options: Partial<SpikeOptions> = {}) {
    this.options = { ...SPIKE_DEFAULTS, ...options };
    const o = this.options;
    if (!(Number.isInteger(o.window) && o.window >= 2)) throw new Error(`spike window must be an integer ≥ 2, got ${o.window}`);
    if (!(o.settleTolerance >= 1)) throw new Error(`spike settleTolerance must be ≥ 1, got ${o.settleTolerance}`);
    if (!(o.ratio > o.settleTolerance)) throw new Error(`spike ratio must exceed settleTolerance, got ${o.ratio}`);
  }

  /** Feeds one logged step; returns the spike when this step is one. */
  observe(obs: DlrObservation): Spike | undefined {
    const d = obs.d ?? (obs.lr > 0 ? obs.dLr / obs.lr : undefined);
    if (d === undefined || !Number.isFinite(d)) return undefined;
    const o = this.options;
    this.firstD ??= d;
    this.peakLr = Math.max(this.peakLr, obs.lr);

    if (this.level !== null) {
      if (d > o.ratio * this.level) {
        const spike: Spike = {
          step: obs.step,
          cutoff: this.lastAtLevel,
          d,
          dLr: obs.dLr,
          level: this.level,
          levelStep: this.levelStep,
          factor: d / this.level,
        };
        this.spikes.push(spike);
        // Start over: d has to settle at its new value before the next spike can be called.
        this.level = null;
        this.active = [];
        return spike;
      }
      if (d <= this.level * o.settleTolerance) this.lastAtLevel = obs.step;
    }

    if (obs.lr >= o.activeLrFraction * this.peakLr && obs.lr > 0) {
      this.active.push({ step: obs.step, d });
      if (this.active.length > o.window) this.active.shift();
      if (this.active.length === o.window) {
        const ds = this.active.map((a) => a.d);
        const grown = Math.min(...ds) >= o.minGrowth * this.firstD;
        if (grown && Math.max(...ds) <= o.settleTolerance * Math.min(...ds)) {
          this.level = median(ds);
          this.levelStep = obs.step;
          if (d <= this.level * o.settleTolerance) this.lastAtLevel = obs.step;
        }
      }
    }
    return undefined;
  }

  /** Convenience for a loop: feed the optimizer's logs (group 0) at a global step. */
  observeLogs(step: number, logs: OptimizerLogs): Spike | undefined {
    if (!logs.dLr) return undefined;
    return this.observe({ step, lr: logs.lr[0], dLr: logs.dLr[0], d: logs.d });
  }

  /** Whether d has settled, i.e. a spike could be called now. */
  get armed(): boolean {
    return this.level !== null;
  }

  /** Plain JSON, to save with the training state so a resumed run detects the same spikes. */
  state(): SpikeState {
    return {
      options: { ...this.options },
      firstD: this.firstD,
      peakLr: this.peakLr,
      active: this.active.map((a) => ({ ...a })),
      level: this.level,
      levelStep: this.levelStep,
      lastAtLevel: this.lastAtLevel,
      spikes: this.spikes.map((s) => ({ ...s })),
    };
  }

  static fromState(s: SpikeState): DlrSpikeDetector {
    const det = new DlrSpikeDetector(s.options);
    det.firstD = s.firstD;
    det.peakLr = s.peakLr;
    det.active = s.active.map((a) => ({ ...a }));
    det.level = s.level;
    det.levelStep = s.levelStep;
    det.lastAtLevel = s.lastAtLevel;
    det.spikes.push(...s.spikes.map((x) => ({ ...x })));
    return det;
  }
}

// ---- policies (`--dlr-spike warn|stop|rollback`)

export type SpikePolicy = 'warn' | 'stop' | 'rollback';

export type SpikeDecision =
  /** Log the message and keep training. */
  | { action: 'warn'; cutoff: number; message: string }
  /** Save adapter and state at the current step, then end the run. */
  | { action: 'stop'; save: true; cutoff: number; message: string }
  /**
   * Load the save made at `toStep` (≤ cutoff), and train on to `cutoff` as the new max steps
   * and T_max; nothing after the spike is kept.
   */
  | { action: 'rollback'; toStep: number; cutoff: number; message: string };

/**
 * What the trainer should do about a spike. `saves` are the steps with a saved adapter + state.
 * rollback without any save at or before the cut-off falls back to stop (saving what there is).
 */
export function decideSpike(policy: SpikePolicy, spike: Spike, saves: readonly number[]): SpikeDecision {
  const what =
    `d*lr spike at step ${spike.step}: d = ${spike.d.toExponential(3)} is ${spike.factor.toFixed(1)}× its settled ` +
    `level ${spike.level.toExponential(3)} (step ${spike.levelStep}).`;
  const cut = `Cut-off: step ${spike.cutoff} (use --max_train_steps ${spike.cutoff} and T_max=${spike.cutoff}).`;
  switch (policy) {
    case 'warn':
      return { action: 'warn', cutoff: spike.cutoff, message: `${what} ${cut}` };
    case 'stop':
      return { action: 'stop', save: true, cutoff: spike.cutoff, message: `${what} Stopping after saving. ${cut}` };
    case 'rollback': {
      const before = saves.filter((s) => s <= spike.cutoff);
      if (before.length === 0) {
        return {
          action: 'stop',
          save: true,
          cutoff: spike.cutoff,
          message: `${what} No save at or before step ${spike.cutoff} to roll back to: stopping after saving. ${cut}`,
        };
      }
      const toStep = Math.max(...before);
      return { action: 'rollback', toStep, cutoff: spike.cutoff, message: `${what} Rolling back to the save at step ${toStep}. ${cut}` };
    }
  }
}
