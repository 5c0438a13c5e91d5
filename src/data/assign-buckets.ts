// Puts a dataset's images into buckets the way sd-scripts' BaseDataset.make_buckets does, and
// prints the summary sd-scripts prints. Images that cannot be bucketed are reported, not fatal.
import { BucketError, BucketManager, type Size } from './buckets.ts';
import { pyFloatRepr } from './py-math.ts';

export interface BucketParams {
  /** (width, height) */
  resolution: Size;
  enable_bucket: boolean;
  min_bucket_reso: number;
  max_bucket_reso: number;
  bucket_reso_steps: number;
  bucket_no_upscale: boolean;
}

export interface BucketInput {
  key: string;
  /** oriented image size (w, h) */
  imageSize: Size;
  numRepeats: number;
}

export interface BucketAssignment {
  key: string;
  bucketReso: Size;
  resizedSize: Size;
  arError: number;
}

export interface BucketResult {
  manager: BucketManager<string>;
  assignments: Map<string, BucketAssignment>;
  /** mean |ar error| without repeats (0 when empty); only meaningful with enable_bucket */
  meanArError: number;
  /** one line per image that could not be bucketed */
  problems: { key: string; message: string }[];
  warnings: string[];
}

/** sd-scripts rounds min_bucket_reso down and max_bucket_reso up to bucket_reso_steps. */
export function adjustMinMaxBucketReso(p: BucketParams): { min: number; max: number; warnings: string[] } {
  const warnings: string[] = [];
  const steps = p.bucket_reso_steps;
  let min = p.min_bucket_reso;
  let max = p.max_bucket_reso;
  if (min % steps !== 0) {
    const adj = min - (min % steps);
    warnings.push(`min_bucket_reso is adjusted to be a multiple of bucket_reso_steps: ${min} -> ${adj}`);
    min = adj;
  }
  if (max % steps !== 0) {
    const adj = max + steps - (max % steps);
    warnings.push(`max_bucket_reso is adjusted to be a multiple of bucket_reso_steps: ${max} -> ${adj}`);
    max = adj;
  }
  const [w, h] = p.resolution;
  if (Math.min(w, h) < min) throw new BucketError(`min_bucket_reso ${min} is larger than resolution ${w}x${h}; lower min_bucket_reso`);
  if (Math.max(w, h) > max) throw new BucketError(`max_bucket_reso ${max} is smaller than resolution ${w}x${h}; raise max_bucket_reso`);
  return { min, max, warnings };
}

export function assignBuckets(images: readonly BucketInput[], p: BucketParams): BucketResult {
  const warnings: string[] = [];
  const problems: { key: string; message: string }[] = [];
  const assignments = new Map<string, BucketAssignment>();
  let manager: BucketManager<string>;
  const arErrors: number[] = [];
  if (p.enable_bucket) {
    const { min, max, warnings: w } = adjustMinMaxBucketReso(p);
    warnings.push(...w);
    manager = new BucketManager(p.bucket_no_upscale, p.resolution, min, max, p.bucket_reso_steps);
    if (p.bucket_no_upscale)
      warnings.push('min_bucket_reso and max_bucket_reso are ignored with bucket_no_upscale: bucket sizes come from the images');
    else manager.makeBuckets();
  } else {
    // one fixed bucket of the resolution; images are scaled to cover it and center-cropped
    manager = new BucketManager(false, p.resolution, undefined, undefined, undefined);
    manager.setPredefinedResos([p.resolution]);
  }
  for (const img of images) {
    try {
      const c = manager.selectBucket(img.imageSize[0], img.imageSize[1]);
      assignments.set(img.key, { key: img.key, ...c });
      arErrors.push(Math.abs(c.arError));
    } catch (e) {
      if (!(e instanceof BucketError)) throw e;
      problems.push({ key: img.key, message: `${img.key}: ${e.message}` });
    }
  }
  if (p.enable_bucket) manager.sort();
  for (const img of images) {
    const a = assignments.get(img.key);
    if (!a) continue;
    for (let i = 0; i < img.numRepeats; i++) manager.addImage(a.bucketReso, img.key);
  }
  const meanArError = arErrors.length === 0 ? 0 : arErrors.reduce((s, v) => s + v, 0) / arErrors.length;
  return { manager, assignments, meanArError, problems, warnings };
}

/** The bucket table as sd-scripts logs it (counts include repeats; empty buckets are left out). */
export function formatBucketSummary(r: BucketResult): string[] {
  const lines = ['number of images (including repeats) / 各bucketの画像枚数（繰り返し回数を含む）'];
  r.manager.resos.forEach((reso, i) => {
    const count = r.manager.buckets[i].length;
    if (count > 0) lines.push(`bucket ${i}: resolution (${reso[0]}, ${reso[1]}), count: ${count}`);
  });
  lines.push(`mean ar error (without repeats): ${pyFloatRepr(r.meanArError)}`);
  return lines;
}
