// LR schedulers shaped like torch.optim.lr_scheduler: they rewrite `paramGroups[i].lr` of an
// optimizer. Step them once per optimizer step (after gradient accumulation), never per micro-batch.
import type { LrLambda } from './schedules.ts';

/** What a scheduler drives: any optimizer with numeric group lrs (no tensors needed). */
export interface SchedulerTarget {
  readonly paramGroups: { lr: number }[];
  readonly defaults: { lr: number };
}

export interface SchedulerState {
  lastEpoch: number;
  baseLrs: number[];
  stepCount: number;
}

export abstract class LRScheduler {
  readonly target: SchedulerTarget;
  /** Group lrs at construction (torch's `initial_lr`). */
  baseLrs: number[];
  /** Number of scheduler steps taken; 0 right after construction. */
  lastEpoch = -1;
  protected stepCount = 0;

  constructor(target: SchedulerTarget) {
    this.target = target;
    this.baseLrs = target.paramGroups.map((g) => g.lr);
  }

  /** Construction performs torch's initial step (lastEpoch -1 → 0). */
  protected initialStep(): void {
    this.step();
  }

  protected abstract computeLr(): number[];

  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const lrs = this.computeLr();
    this.target.paramGroups.forEach((g, i) => {
      g.lr = lrs[i];
    });
  }

  /** Group lrs after the last step (what sd-scripts logs as `lr/...`). */
  getLastLr(): number[] {
    return this.target.paramGroups.map((g) => g.lr);
  }

  stateDict(): SchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], stepCount: this.stepCount };
  }

  /** Restores the step counter; the group lrs themselves come back with the optimizer's state. */
  loadStateDict(state: SchedulerState): void {
    if (state.baseLrs.length !== this.target.paramGroups.length) {
      throw new Error(`scheduler state has ${state.baseLrs.length} base lrs, the optimizer has ${this.target.paramGroups.length} groups`);
    }
    this.lastEpoch = state.lastEpoch;
    this.baseLrs = [...state.baseLrs];
    this.stepCount = state.stepCount;
  }
}

/** lr = base_lr · λ(step), one λ for all groups or one per group. */
export class LambdaLR extends LRScheduler {
  private readonly lambdas: LrLambda[];

  constructor(target: SchedulerTarget, lrLambda: LrLambda | LrLambda[]) {
    super(target);
    const n = target.paramGroups.length;
    if (Array.isArray(lrLambda) && lrLambda.length !== n) {
      throw new Error(`LambdaLR: got ${lrLambda.length} lambdas for ${n} parameter groups`);
    }
    this.lambdas = Array.isArray(lrLambda) ? lrLambda : new Array(n).fill(lrLambda);
    this.initialStep();
  }

  protected computeLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lambdas[i](this.lastEpoch));
  }
}

export interface CosineAnnealingOptions {
  /** Half-period in scheduler steps; the lr is etaMin at tMax and back at base at 2·tMax. */
  tMax: number;
  etaMin?: number;
  /**
   * lyco extension: linear warmup from 0 over this many steps before the annealing starts
   * (sd-scripts refuses warmup with --lr_scheduler_type; its factory keeps refusing).
   */
  warmupSteps?: number;
}

/**
 * torch's CosineAnnealingLR in its recursive form (what `step()` uses), including the branch that
 * leaves a trough; periodic beyond tMax as torch is.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  readonly warmupSteps: number;

  constructor(target: SchedulerTarget, options: CosineAnnealingOptions) {
    super(target);
    const { tMax, etaMin = 0, warmupSteps = 0 } = options;
    if (!(Number.isInteger(tMax) && tMax > 0)) {
      throw new Error(`CosineAnnealingLR: T_max must be a positive integer, got ${tMax}`);
    }
    if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) {
      throw new Error(`CosineAnnealingLR: warmupSteps must be a non-negative integer, got ${warmupSteps}`);
    }
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.warmupSteps = warmupSteps;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const groups = this.target.paramGroups;
    const W = this.warmupSteps;
    if (this.lastEpoch < W) return this.baseLrs.map((b) => b * (this.lastEpoch / W));
    const t = this.lastEpoch - W;
    const T = this.tMax;
    const eta = this.etaMin;
    if (t === 0) return W > 0 ? [...this.baseLrs] : groups.map((g) => g.lr);
    if ((((t - 1 - T) % (2 * T)) + 2 * T) % (2 * T) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i] - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map((g) => ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (g.lr - eta) + eta);
  }
}
