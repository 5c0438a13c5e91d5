// The lr multipliers λ(step) of the classic schedules (transformers / diffusers `optimization.py`,
// the functions sd-scripts builds LambdaLR from). Pure float64 math written in upstream's
// operation order, so the products base_lr·λ match Python to the last bit or two.

export type LrLambda = (step: number) => number;

function warmup(step: number, warmupSteps: number): number {
  return step / Math.max(1, warmupSteps);
}

export function constant(): LrLambda {
  return () => 1;
}

export function constantWithWarmup(warmupSteps: number): LrLambda {
  return (s) => (s < warmupSteps ? s / Math.max(1.0, warmupSteps) : 1.0);
}

export function linear(warmupSteps: number, trainingSteps: number): LrLambda {
  return (s) => {
    if (s < warmupSteps) return warmup(s, warmupSteps);
    return Math.max(0.0, (trainingSteps - s) / Math.max(1, trainingSteps - warmupSteps));
  };
}

/** Half a cosine by default (numCycles 0.5); it rises again past trainingSteps, as upstream. */
export function cosine(warmupSteps: number, trainingSteps: number, numCycles = 0.5): LrLambda {
  return (s) => {
    if (s < warmupSteps) return warmup(s, warmupSteps);
    const progress = (s - warmupSteps) / Math.max(1, trainingSteps - warmupSteps);
    return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * numCycles * 2.0 * progress)));
  };
}

/** Hard restarts: numCycles full decays, then 0 from progress 1 on. */
export function cosineWithHardRestarts(warmupSteps: number, trainingSteps: number, numCycles = 1): LrLambda {
  return (s) => {
    if (s < warmupSteps) return warmup(s, warmupSteps);
    const progress = (s - warmupSteps) / Math.max(1, trainingSteps - warmupSteps);
    if (progress >= 1.0) return 0.0;
    return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * ((numCycles * progress) % 1.0))));
  };
}

/**
 * Polynomial decay from lrInit to lrEnd. lrInit is the optimizer's default lr for every group
 * (upstream quirk: a group with another lr ends at groupLr·lrEnd/lrInit).
 */
export function polynomialDecay(warmupSteps: number, trainingSteps: number, lrInit: number, lrEnd = 1e-7, power = 1.0): LrLambda {
  if (!(lrInit > lrEnd)) {
    throw new Error(`polynomial: lr_end (${lrEnd}) must be smaller than the initial lr (${lrInit})`);
  }
  return (s) => {
    if (s < warmupSteps) return warmup(s, warmupSteps);
    if (s > trainingSteps) return lrEnd / lrInit;
    const lrRange = lrInit - lrEnd;
    const decaySteps = trainingSteps - warmupSteps;
    const pctRemaining = 1 - (s - warmupSteps) / decaySteps;
    const decay = lrRange * pctRemaining ** power + lrEnd;
    return decay / lrInit;
  };
}
