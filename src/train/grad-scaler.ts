// Dynamic loss scaling for fp16 mixed precision, with torch.amp.GradScaler's semantics as
// accelerate drives it for sd-scripts: the loss is multiplied by the scale before backward; after
// the accumulation the gradients are unscaled (× float32(1/scale)) and checked for inf/NaN before
// clipping; a step with a non-finite gradient is skipped (optimizer and, as accelerate's
// AcceleratedScheduler does, the LR scheduler) and the scale backs off; growth_interval
// consecutive good steps grow it (never past float32's range). The scale is a float32 value.
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

export interface GradScalerOptions {
  /** torch: 2.0**16 */
  initScale: number;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
}

export const GRAD_SCALER_DEFAULTS: GradScalerOptions = { initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000 };

/** What a training state keeps of the scaler (torch's state_dict: scale and _growth_tracker). */
export interface GradScalerState {
  scale: number;
  growthTracker: number;
  /** Optimizer steps skipped for non-finite gradients so far (the scheduler did not step on them). */
  skippedSteps: number;
}

const f32 = Math.fround;

export class GradScaler {
  readonly options: GradScalerOptions;
  private scaleValue: number;
  private growthTracker = 0;
  private skipped = 0;
  /** Set by unscale() until update(): whether this step's gradients were unscaled, and what it found. */
  private unscaled: { foundInf: boolean } | undefined;

  constructor(o: Partial<GradScalerOptions> = {}) {
    this.options = { ...GRAD_SCALER_DEFAULTS, ...o };
    const { initScale, growthFactor, backoffFactor, growthInterval } = this.options;
    if (!(initScale > 0) || !Number.isFinite(f32(initScale)))
      throw new RangeError(`GradScaler: initScale ${initScale} must be a finite float32 > 0`);
    if (!(growthFactor > 1)) throw new RangeError(`GradScaler: growthFactor ${growthFactor} must be > 1`);
    if (!(backoffFactor > 0 && backoffFactor < 1)) throw new RangeError(`GradScaler: backoffFactor ${backoffFactor} must be in (0, 1)`);
    if (!Number.isInteger(growthInterval) || growthInterval < 1) {
      throw new RangeError(`GradScaler: growthInterval ${growthInterval} must be an integer >= 1`);
    }
    this.scaleValue = f32(initScale);
  }

  /** The current scale (float32). */
  get scale(): number {
    return this.scaleValue;
  }

  get skippedSteps(): number {
    return this.skipped;
  }

  /** loss × scale, the tensor to call backward on. */
  scaleLoss(loss: Tensor): Tensor {
    return loss.mul(this.scaleValue);
  }

  /**
   * Multiplies every gradient by float32(1/scale) in place (exact for power-of-two scales) and
   * returns whether any was inf or NaN. Once per step: before clipping, as accelerate's
   * clip_grad_norm_ does; step() calls it when clipping did not.
   */
  unscale(params: readonly Tensor[]): boolean {
    if (this.unscaled) throw new Error('GradScaler: unscale() was already called for this step; call update() after the optimizer step');
    const inv = f32(1 / this.scaleValue);
    const foundInf = torch.noGrad(() =>
      torch.scope(() => {
        const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== undefined);
        if (grads.length === 0) return false;
        const finite = torch
          .stack(grads.map((g) => g.isfinite().all()))
          .all()
          .item();
        if (inv !== 1) for (const g of grads) g.mul_(inv);
        return !finite;
      }),
    );
    this.unscaled = { foundInf };
    return foundInf;
  }

  /** Unscales if needed, then steps the optimizer unless a gradient was not finite; true when it stepped. */
  step(optimizer: { step(): unknown }, params: readonly Tensor[]): boolean {
    const foundInf = this.unscaled ? this.unscaled.foundInf : this.unscale(params);
    if (foundInf) return false;
    optimizer.step();
    return true;
  }

  /** After each optimizer step: backoff and reset the tracker after an overflow, else grow every growthInterval good steps. */
  update(): void {
    if (!this.unscaled) throw new Error('GradScaler: update() without unscale()/step() for this step');
    const { growthFactor, backoffFactor, growthInterval } = this.options;
    if (this.unscaled.foundInf) {
      this.scaleValue = f32(this.scaleValue * backoffFactor);
      this.growthTracker = 0;
      this.skipped++;
    } else {
      const successful = this.growthTracker + 1;
      if (successful === growthInterval) {
        const grown = f32(this.scaleValue * growthFactor);
        if (Number.isFinite(grown)) this.scaleValue = grown;
        this.growthTracker = 0;
      } else this.growthTracker = successful;
    }
    this.unscaled = undefined;
  }

  stateDict(): GradScalerState {
    return { scale: this.scaleValue, growthTracker: this.growthTracker, skippedSteps: this.skipped };
  }

  loadStateDict(s: GradScalerState): void {
    if (!(s.scale > 0) || !Number.isInteger(s.growthTracker) || s.growthTracker < 0) {
      throw new Error(`GradScaler: bad state (scale ${s.scale}, growth tracker ${s.growthTracker})`);
    }
    this.scaleValue = f32(s.scale);
    this.growthTracker = s.growthTracker;
    this.skipped = s.skippedSteps ?? 0;
    this.unscaled = undefined;
  }
}
