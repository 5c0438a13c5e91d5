// Second opinion for pHash pairs just above the threshold: is one image a slight crop of the
// other? pHash is robust to resizing and re-encoding but a 5 % crop shifts its frequencies by
// 10-20 bits, as far as unrelated images sometimes come. Here the larger frame is cropped by up
// to MAX_CROP per side, resampled onto the smaller one's grid, and the pixels compared.

/** side of the greyscale thumbnail kept per image */
export const THUMB = 64;
const GRID = 32;
/** largest crop per side that still counts as "slightly cropped" */
const MAX_CROP = 0.1;
const STEP = 0.025;

function sample(t: Uint8Array, x: number, y: number): number {
  // bilinear on the THUMB x THUMB thumbnail, pixel centres at i + 0.5
  const fx = Math.min(THUMB - 1, Math.max(0, x - 0.5));
  const fy = Math.min(THUMB - 1, Math.max(0, y - 0.5));
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(THUMB - 1, x0 + 1);
  const y1 = Math.min(THUMB - 1, y0 + 1);
  const ax = fx - x0;
  const ay = fy - y0;
  const top = t[y0 * THUMB + x0] * (1 - ax) + t[y0 * THUMB + x1] * ax;
  const bot = t[y1 * THUMB + x0] * (1 - ax) + t[y1 * THUMB + x1] * ax;
  return top * (1 - ay) + bot * ay;
}

/**
 * Residual of `small` against the region [l, 1-r] x [t, 1-b] of `big` (both resampled to
 * GRID x GRID), or Infinity as soon as it exceeds `limit`: most candidates are rejected after a
 * few dozen samples, which keeps the 2 x 625 crops per pair cheap.
 */
function regionResidual(big: Uint8Array, target: Float64Array, l: number, t: number, r: number, b: number, limit: number): number {
  const w = (1 - l - r) * THUMB;
  const h = (1 - t - b) * THUMB;
  const budget = limit * GRID * GRID;
  let s = 0;
  for (let gy = 0; gy < GRID; gy++) {
    const y = t * THUMB + ((gy + 0.5) / GRID) * h;
    for (let gx = 0; gx < GRID; gx++) {
      s += Math.abs(sample(big, l * THUMB + ((gx + 0.5) / GRID) * w, y) - target[gy * GRID + gx]);
      if (s > budget) return Number.POSITIVE_INFINITY;
    }
  }
  return s / (GRID * GRID);
}

function grid(small: Uint8Array): Float64Array {
  const out = new Float64Array(GRID * GRID);
  for (let gy = 0; gy < GRID; gy++)
    for (let gx = 0; gx < GRID; gx++) out[gy * GRID + gx] = sample(small, ((gx + 0.5) / GRID) * THUMB, ((gy + 0.5) / GRID) * THUMB);
  return out;
}

const CROPS = (() => {
  const v: number[] = [];
  for (let c = 0; c <= MAX_CROP + 1e-9; c += STEP) v.push(c);
  return v;
})();

/** Smallest residual (grey levels) of `small` against slight crops of `big`, if below `limit`. */
function bestCrop(big: Uint8Array, small: Uint8Array, limit: number): number {
  const target = grid(small);
  let best = Number.POSITIVE_INFINITY;
  for (const l of CROPS)
    for (const r of CROPS)
      for (const t of CROPS)
        for (const b of CROPS) {
          const d = regionResidual(big, target, l, t, r, b, Math.min(limit, best));
          if (d < best) best = d;
        }
  return best;
}

/**
 * Mean absolute grey-level difference between the two images once the better-fitting one is
 * cropped by up to 10 % per side; Infinity when no crop comes under `limit`.
 * Measured (test/data/dedupe.test.ts set): 2-10 % crops, also resized and re-encoded, <= 4;
 * distinct images >= 10.
 */
export function cropResidual(a: Uint8Array, b: Uint8Array, limit = 255): number {
  return Math.min(bestCrop(a, b, limit), bestCrop(b, a, limit));
}

/** Residual at or under this many grey levels: one image is a crop of the other. */
export const CROP_RESIDUAL_LIMIT = 6;
