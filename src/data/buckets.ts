// Aspect-ratio buckets with sd-scripts' arithmetic (model_util.make_bucket_resolutions and
// train_util.BucketManager): the same bucket list, the same assignment, the same resized sizes
// and crops, so a dataset lands in the buckets its users already know.
import { pyFloorDiv, pyInt } from './py-math.ts';

/** (width, height) in pixels. */
export type Size = readonly [number, number];
/** crop_ltrb: (left, top, right, bottom) of the image inside its bucket, SDXL size conditioning. */
export type Ltrb = readonly [number, number, number, number];

/**
 * Buckets for `resolution` (W, H): the square of the same area, then for every width from
 * min_bucket_reso to max_bucket_reso in bucket_reso_steps the tallest height that keeps the
 * area, and its transpose. Sorted by (width, height).
 */
export function makeBucketResolutions(maxReso: Size, minSize = 256, maxSize = 1024, divisible = 64): Size[] {
  const maxArea = maxReso[0] * maxReso[1];
  const seen = new Map<string, Size>();
  const add = (w: number, h: number) => seen.set(`${w}x${h}`, [w, h]);
  const square = pyInt(pyFloorDiv(Math.sqrt(maxArea), divisible)) * divisible;
  add(square, square);
  for (let width = minSize; width <= maxSize; width += divisible) {
    const height = Math.min(maxSize, Math.floor(Math.floor(maxArea / width) / divisible) * divisible);
    if (height >= minSize) {
      add(width, height);
      add(height, width);
    }
  }
  return [...seen.values()].sort(compareSize);
}

export function compareSize(a: Size, b: Size): number {
  return a[0] - b[0] || a[1] - b[1];
}

export interface BucketChoice {
  bucketReso: Size;
  resizedSize: Size;
  /** bucket aspect ratio minus image aspect ratio */
  arError: number;
}

/** Thrown when an image cannot be placed in a bucket; the message names the fix. */
export class BucketError extends Error {}

/**
 * The buckets of one dataset. Without no_upscale the buckets are fixed in advance and each image
 * goes to the one with the nearest aspect ratio (scaled to cover it, then cropped); with
 * no_upscale each image gets a bucket of its own size (shrunk to the resolution's area when
 * larger), rounded down to bucket_reso_steps, never enlarged.
 */
export class BucketManager<T = string> {
  readonly maxArea: number | undefined;
  resos: Size[] = [];
  buckets: T[][] = [];
  private resoToId = new Map<string, number>();
  private predefined: Size[] = [];
  private predefinedSet = new Set<string>();
  private predefinedAr: number[] = [];

  constructor(
    readonly noUpscale: boolean,
    readonly maxReso: Size | undefined,
    readonly minSize: number | undefined,
    readonly maxSize: number | undefined,
    readonly resoSteps: number | undefined,
  ) {
    if (maxSize !== undefined) {
      if (maxReso && (maxSize < maxReso[0] || maxSize < maxReso[1]))
        throw new BucketError(`max_bucket_reso ${maxSize} is smaller than resolution ${maxReso[0]}x${maxReso[1]}; raise max_bucket_reso`);
      if (minSize !== undefined && maxSize < minSize)
        throw new BucketError(`max_bucket_reso ${maxSize} is smaller than min_bucket_reso ${minSize}`);
    }
    this.maxArea = maxReso ? maxReso[0] * maxReso[1] : undefined;
  }

  makeBuckets(): void {
    if (!this.maxReso) throw new BucketError('resolution is required to make buckets');
    this.setPredefinedResos(makeBucketResolutions(this.maxReso, this.minSize, this.maxSize, this.resoSteps));
  }

  setPredefinedResos(resos: readonly Size[]): void {
    this.predefined = resos.slice();
    this.predefinedSet = new Set(resos.map(key));
    this.predefinedAr = resos.map(([w, h]) => w / h);
  }

  get predefinedResos(): readonly Size[] {
    return this.predefined;
  }

  private addIfNewReso(reso: Size): void {
    if (this.resoToId.has(key(reso))) return;
    this.resoToId.set(key(reso), this.resos.length);
    this.resos.push(reso);
    this.buckets.push([]);
  }

  private roundToSteps(x: number): number {
    const steps = this.resoSteps as number;
    const v = pyInt(x + 0.5);
    return v - (v % steps);
  }

  selectBucket(imageWidth: number, imageHeight: number): BucketChoice {
    const ar = imageWidth / imageHeight;
    let reso: Size;
    let resized: Size;
    if (!this.noUpscale) {
      reso = [imageWidth, imageHeight];
      if (!this.predefinedSet.has(key(reso))) {
        if (this.predefined.length === 0) throw new BucketError('no buckets: call makeBuckets() first');
        // first minimum of |bucket_ar - ar|, as numpy.argmin
        let best = 0;
        let bestErr = Math.abs(this.predefinedAr[0] - ar);
        for (let i = 1; i < this.predefinedAr.length; i++) {
          const e = Math.abs(this.predefinedAr[i] - ar);
          if (e < bestErr) {
            best = i;
            bestErr = e;
          }
        }
        reso = this.predefined[best];
      }
      const resoAr = reso[0] / reso[1];
      // wider than the bucket: match heights, else match widths (cover, then crop)
      const scale = ar > resoAr ? reso[1] / imageHeight : reso[0] / imageWidth;
      resized = [pyInt(imageWidth * scale + 0.5), pyInt(imageHeight * scale + 0.5)];
    } else {
      const steps = this.resoSteps as number;
      const maxArea = this.maxArea as number;
      if (imageWidth * imageHeight > maxArea) {
        const rw = Math.sqrt(maxArea * ar);
        const rh = maxArea / rw;
        const bwRounded = this.roundToSteps(rw);
        const bhInWr = this.roundToSteps(bwRounded / ar);
        const bhRounded = this.roundToSteps(rh);
        const bwInHr = this.roundToSteps(bhRounded * ar);
        if (bhInWr === 0 || bhRounded === 0)
          throw new BucketError(
            `aspect ratio ${imageWidth}x${imageHeight} is too extreme for bucket_no_upscale with bucket_reso_steps ${steps}; crop the image or turn bucket_no_upscale off`,
          );
        const arWidthRounded = bwRounded / bhInWr;
        const arHeightRounded = bwInHr / bhRounded;
        resized =
          Math.abs(arWidthRounded - ar) < Math.abs(arHeightRounded - ar)
            ? [bwRounded, pyInt(bwRounded / ar + 0.5)]
            : [pyInt(bhRounded * ar + 0.5), bhRounded];
      } else {
        resized = [imageWidth, imageHeight];
      }
      // crop to a multiple of the step, never pad
      reso = [resized[0] - (resized[0] % steps), resized[1] - (resized[1] % steps)];
      if (reso[0] === 0 || reso[1] === 0)
        throw new BucketError(
          `image ${imageWidth}x${imageHeight} is smaller than bucket_reso_steps ${steps} after resizing; use a larger image or turn bucket_no_upscale off`,
        );
    }
    this.addIfNewReso(reso);
    return { bucketReso: reso, resizedSize: resized, arError: reso[0] / reso[1] - ar };
  }

  addImage(reso: Size, item: T): void {
    const id = this.resoToId.get(key(reso));
    if (id === undefined) throw new BucketError(`no bucket ${reso[0]}x${reso[1]}: call selectBucket first`);
    this.buckets[id].push(item);
  }

  /** Orders buckets by resolution (only for display and metadata, as sd-scripts). */
  sort(): void {
    const sorted = this.resos.slice().sort(compareSize);
    const buckets = sorted.map((r) => this.buckets[this.resoToId.get(key(r)) as number]);
    this.resos = sorted;
    this.buckets = buckets;
    this.resoToId = new Map(sorted.map((r, i) => [key(r), i]));
  }

  bucketId(reso: Size): number | undefined {
    return this.resoToId.get(key(reso));
  }
}

function key(s: Size): string {
  return `${s[0]}x${s[1]}`;
}

/**
 * crop_ltrb as sd-scripts computes it for SDXL conditioning: where the image sits inside the
 * bucket when scaled to fit it (the right edge is kept for flip augmentation). Computed as if
 * center-cropped, also for random crops.
 */
export function getCropLtrb(bucketReso: Size, imageSize: Size): Ltrb {
  const bucketAr = bucketReso[0] / bucketReso[1];
  const imageAr = imageSize[0] / imageSize[1];
  let rw: number;
  let rh: number;
  if (bucketAr > imageAr) {
    rw = bucketReso[1] * imageAr;
    rh = bucketReso[1];
  } else {
    rw = bucketReso[0];
    rh = bucketReso[0] / imageAr;
  }
  const left = pyFloorDiv(bucketReso[0] - rw, 2);
  const top = pyFloorDiv(bucketReso[1] - rh, 2);
  return [left, top, left + rw, top + rh];
}

/** Where a center crop of the resized image to the bucket starts (x, y): excess // 2 per axis. */
export function centerCropOffset(bucketReso: Size, resizedSize: Size): Size {
  const ex = resizedSize[0] - bucketReso[0];
  const ey = resizedSize[1] - bucketReso[1];
  return [ex > 0 ? Math.floor(ex / 2) : 0, ey > 0 ? Math.floor(ey / 2) : 0];
}
