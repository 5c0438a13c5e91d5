// A seeded PRNG that draws the same numbers as CPython's `random` module (MT19937).
// sd-scripts drives caption shuffling, tag dropout, flips, random crops and bucket order
// with Python's global `random`, re-seeded each epoch; using the same generator lets a run
// reproduce sd-scripts' draws for the same seed, and keeps lyco deterministic without torch.

const N = 624;
const M = 397;

export class PyRandom {
  private readonly mt = new Uint32Array(N);
  private mti = N + 1;

  constructor(seed: number | bigint = 0) {
    this.seed(seed);
  }

  /** Same as Python's `random.seed(n)` for an integer n (the absolute value is used). */
  seed(n: number | bigint): void {
    let v = typeof n === 'bigint' ? n : BigInt(Math.trunc(n));
    if (v < 0n) v = -v;
    const key: number[] = [];
    while (v > 0n) {
      key.push(Number(v & 0xffffffffn));
      v >>= 32n;
    }
    if (key.length === 0) key.push(0);
    this.initByArray(key);
  }

  /** Python's `random.getstate()` in plain JSON: the 624 words and the position (for resuming a run). */
  getState(): { mt: number[]; mti: number } {
    return { mt: Array.from(this.mt), mti: this.mti };
  }

  setState(s: { mt: readonly number[]; mti: number }): void {
    if (s.mt.length !== N) throw new Error(`PyRandom state must have ${N} words, got ${s.mt.length}`);
    this.mt.set(s.mt);
    this.mti = s.mti;
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  private twist(): void {
    const mt = this.mt;
    let kk = 0;
    for (; kk < N - M; kk++) {
      const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    for (; kk < N - 1; kk++) {
      const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff);
      mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    const y = (mt[N - 1] & 0x80000000) | (mt[0] & 0x7fffffff);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    this.mti = 0;
  }

  /** One 32-bit output of MT19937 (tempered). */
  uint32(): number {
    if (this.mti >= N) this.twist();
    let y = this.mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random.random()`: a float in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `random.getrandbits(k)` for 0 <= k <= 32. */
  getrandbits(k: number): number {
    if (k <= 0) return 0;
    if (k > 32) throw new RangeError(`getrandbits: k=${k} > 32 is not supported`);
    return this.uint32() >>> (32 - k);
  }

  /** CPython's `_randbelow(n)`: uniform integer in [0, n), by rejection on bit_length(n) bits. */
  randbelow(n: number): number {
    if (n <= 0) return 0;
    if (n > 0xffffffff) throw new RangeError(`randbelow: n=${n} is larger than 2**32`);
    const k = 32 - Math.clz32(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** `random.randint(a, b)`: integer in [a, b], both ends included. */
  randint(a: number, b: number): number {
    if (b < a) throw new RangeError(`randint: empty range (${a}, ${b})`);
    return a + this.randbelow(b - a + 1);
  }

  /** `random.shuffle(x)` in place (Fisher–Yates from the end, as CPython). */
  shuffle<T>(x: T[]): T[] {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
    return x;
  }

  /** `random.choice(seq)`. */
  choice<T>(seq: readonly T[]): T {
    if (seq.length === 0) throw new RangeError('choice: empty sequence');
    return seq[this.randbelow(seq.length)];
  }
}
