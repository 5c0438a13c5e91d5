// Byte-pair encoding of one pre-tokenised word (already in byte-unicode characters): start
// from single characters with "</w>" on the last, repeatedly merge the adjacent pair with the
// lowest merge rank, stop when no pair is ranked.

export class Bpe {
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();

  constructor(merges: readonly string[]) {
    this.ranks = new Map(merges.map((m, i) => [m, i]));
  }

  encode(word: string): string[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const chars = Array.from(word);
    let parts = chars.slice(0, -1);
    parts.push(`${chars[chars.length - 1]}</w>`);
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < parts.length - 1; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      // Merge every occurrence of that pair, left to right, as upstream does.
      const a = parts[best];
      const b = parts[best + 1];
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1 && parts[i] === a && parts[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(parts[i]);
      }
      parts = next;
    }
    if (this.cache.size < 100_000) this.cache.set(word, parts);
    return parts;
  }
}
