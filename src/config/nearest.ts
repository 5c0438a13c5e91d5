// "Did you mean …?" for unknown keys: the known key at the smallest edit distance.

/** Levenshtein distance (insert, delete, substitute; each costs 1). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The closest known key; case and `-`/`_` differences count as nothing, so `Max-Train-Epochs`
 * finds `max_train_epochs`. Ties go to the first key in `known` order.
 */
export function nearestKey(key: string, known: Iterable<string>): string | undefined {
  const norm = (s: string) => s.toLowerCase().replaceAll('-', '_');
  const k = norm(key);
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const cand of known) {
    const d = editDistance(k, norm(cand));
    if (d < bestD) {
      best = cand;
      bestD = d;
    }
  }
  return best;
}
