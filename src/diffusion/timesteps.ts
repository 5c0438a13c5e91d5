// Inference timestep grids of diffusers' schedulers (`timestep_spacing`).
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/** Python's round(): halves to even, as numpy's round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Descending timesteps for n inference steps out of `train` (floats for linspace before
 * rounding: DDIM rounds them, Euler keeps them fractional).
 */
export function spacedTimesteps(spacing: TimestepSpacing, n: number, train: number, stepsOffset: number, round: boolean): number[] {
  const out: number[] = [];
  if (spacing === 'linspace') {
    // numpy linspace: i·step, the end point set exactly.
    const step = n === 1 ? 0 : (train - 1) / (n - 1);
    for (let i = n - 1; i >= 0; i--) {
      const v = i === n - 1 ? train - 1 : i * step;
      out.push(round ? roundHalfEven(v) : v);
    }
    return out;
  }
  if (spacing === 'leading') {
    const ratio = Math.floor(train / n);
    for (let i = n - 1; i >= 0; i--) out.push(i * ratio + stepsOffset);
    return out;
  }
  // trailing: round(arange(train, 0, -train/n)) - 1
  const ratio = train / n;
  for (let i = 0; i < n; i++) out.push(roundHalfEven(train + i * -ratio) - 1);
  return out;
}
