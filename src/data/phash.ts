// 64-bit DCT perceptual hash: greyscale 32x32, 2-D DCT-II, the 8x8 lowest frequencies without
// the DC row and column, each bit = coefficient above the median of the 64. Resizing,
// re-encoding and small crops barely move these low frequencies, distinct images do.
import sharp from 'sharp';
import { THUMB } from './crop-match.ts';
import type { RgbImage } from './image-decode.ts';

const SIZE = 32;
const KEEP = 8;

/** The hash as two 32-bit halves (BigInt popcounts are slow for all-pairs comparison). */
export interface PHash {
  hi: number;
  lo: number;
  /**
   * false for nearly flat images (solid colours, blank scans): their AC coefficients are
   * rounding noise, so their bits say nothing and they are matched only exactly.
   */
  informative: boolean;
}

// cos(pi * (2n + 1) * k / 64) for k = 0..KEEP, n = 0..31
const COS = (() => {
  const t = new Float64Array((KEEP + 1) * SIZE);
  for (let k = 0; k <= KEEP; k++) for (let n = 0; n < SIZE; n++) t[k * SIZE + n] = Math.cos((Math.PI * (2 * n + 1) * k) / (2 * SIZE));
  return t;
})();

/** Hash of 32x32 greyscale pixels (row-major, 0..255). */
export function phashFromGrey32(grey: Uint8Array | Buffer): PHash {
  if (grey.length !== SIZE * SIZE) throw new Error(`phash needs ${SIZE}x${SIZE} pixels, got ${grey.length}`);
  // rows first: R[y][u] = sum_x g[y][x] cos_u(x), for u = 1..KEEP
  const rows = new Float64Array(SIZE * KEEP);
  for (let y = 0; y < SIZE; y++)
    for (let u = 1; u <= KEEP; u++) {
      let s = 0;
      for (let x = 0; x < SIZE; x++) s += grey[y * SIZE + x] * COS[u * SIZE + x];
      rows[y * KEEP + (u - 1)] = s;
    }
  // then columns: D[v][u] = sum_y R[y][u] cos_v(y), for v = 1..KEEP
  const coef = new Float64Array(KEEP * KEEP);
  for (let v = 1; v <= KEEP; v++)
    for (let u = 0; u < KEEP; u++) {
      let s = 0;
      for (let y = 0; y < SIZE; y++) s += rows[y * KEEP + u] * COS[v * SIZE + y];
      coef[(v - 1) * KEEP + u] = s;
    }
  const sorted = Array.from(coef).sort((a, b) => a - b);
  const median = (sorted[31] + sorted[32]) / 2;
  let hi = 0;
  let lo = 0;
  let energy = 0;
  for (let i = 0; i < 64; i++) {
    energy += Math.abs(coef[i]);
    if (coef[i] > median) {
      if (i < 32) hi |= 1 << (31 - i);
      else lo |= 1 << (63 - i);
    }
  }
  // mean |coefficient| below 1 grey level x 32 samples: the picture has no low-frequency structure
  return { hi: hi >>> 0, lo: lo >>> 0, informative: energy / 64 >= SIZE };
}

/** 64x64 greyscale thumbnail (the whole frame, aspect ignored): pHash input and crop check. */
export async function greyThumbnail(img: RgbImage): Promise<Uint8Array> {
  const t = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .greyscale()
    .resize(THUMB, THUMB, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return new Uint8Array(t.buffer, t.byteOffset, t.length);
}

/** pHash of a 64x64 thumbnail, box-averaged to 32x32 first. */
export function phashFromThumbnail(thumb: Uint8Array): PHash {
  const g = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const i = 2 * y * THUMB + 2 * x;
      g[y * SIZE + x] = (thumb[i] + thumb[i + 1] + thumb[i + THUMB] + thumb[i + THUMB + 1] + 2) >> 2;
    }
  return phashFromGrey32(g);
}

export async function phash(img: RgbImage): Promise<PHash> {
  return phashFromThumbnail(await greyThumbnail(img));
}

function popcount32(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

export function hamming(a: PHash, b: PHash): number {
  return popcount32((a.hi ^ b.hi) >>> 0) + popcount32((a.lo ^ b.lo) >>> 0);
}

export function phashHex(h: PHash): string {
  return h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');
}
