// LoKr's split of a dimension into two factors (LyCORIS functional/general.py `factorization`).
// Upstream walks divisors upward and stops once the next one exceeds the factor or m ≥ n; its
// "m + n > length" bound never fires, so the docstring's examples for 360 are wrong (spec §2.4.1).

/**
 * (m, n) with m·n = dim and m ≤ n. factor > 0 dividing dim gives (factor, dim/factor) sorted;
 * otherwise m is the largest divisor of dim not above min(factor (dim if < 0), √dim).
 * `legacy: true` reproduces LyCORIS ≤ 1.8: no sorting of the exact-factor pair, and negative
 * factors other than −1 give (1, dim).
 */
export function factorization(dim: number, factor = -1, o: { legacy?: boolean } = {}): [number, number] {
  if (factor > 0 && dim % factor === 0) {
    const m = factor;
    const n = dim / factor;
    return m > n && !o.legacy ? [n, m] : [m, n];
  }
  const limit = factor < 0 ? (o.legacy && factor !== -1 ? 1 : dim) : factor;
  let m = 1;
  let n = dim;
  while (m < n) {
    let next = m + 1;
    while (dim % next !== 0) next++;
    if (next > limit) break;
    m = next;
    n = dim / next;
  }
  return m > n ? [n, m] : [m, n];
}
