// Duplicate detection before training ("NO DUPLICATE DATASET"): exact copies by sha256 of the
// file bytes and of the decoded pixels, near copies (resized, re-encoded, slightly cropped) by
// DCT perceptual hash within a Hamming distance. Pairs are joined into groups transitively.
import { createHash } from 'node:crypto';
import { CROP_RESIDUAL_LIMIT, cropResidual } from './crop-match.ts';
import type { CheckedImage } from './image-decode.ts';
import { greyThumbnail, hamming, type PHash, phashFromThumbnail } from './phash.ts';

/**
 * Default Hamming threshold (of 64 bits) for near duplicates. Measured on 60 generated images
 * (some sharing background and palette): resized (x0.5..x1.5) and re-encoded (JPEG q40..95, WebP)
 * copies sit at 0..4 bits from their original, 2 % crops at <= 8; the closest distinct pair was
 * 14 bits apart, unrelated hashes average 32. 10 keeps a margin on both sides (the range pHash
 * users settle on). Larger crops (4-10 %: up to 22 bits) are left to the crop check below.
 */
export const DEFAULT_PHASH_THRESHOLD = 10;

/**
 * Pairs above the threshold but within this distance get the crop check (crop-match.ts):
 * 2-10 % crops measured at up to 22 bits; unrelated hashes average 32.
 */
export const CROP_CHECK_MAX_DISTANCE = 24;

export interface DedupeOptions {
  /** pHash Hamming distance (0..64) at or under which two images are near duplicates */
  threshold?: number;
  /** confirm pairs within CROP_CHECK_MAX_DISTANCE by aligning crops (default on) */
  cropCheck?: boolean;
}

export interface ImageFingerprint {
  path: string;
  width: number;
  height: number;
  fileSha256: string;
  pixelSha256: string;
  phash: PHash;
  /** 64x64 greyscale of the whole frame, for the crop check */
  thumb: Uint8Array;
}

export type DuplicateKind = 'exact-bytes' | 'exact-pixels' | 'near' | 'near-crop';

export interface DuplicatePair {
  a: string;
  b: string;
  kind: DuplicateKind;
  /** pHash Hamming distance (0..64) */
  distance: number;
}

export interface DuplicateReport {
  /** each group: paths of one set of duplicates, sorted; groups sorted by their first path */
  groups: string[][];
  pairs: DuplicatePair[];
  threshold: number;
  images: number;
}

export async function fingerprint(img: CheckedImage): Promise<ImageFingerprint> {
  const px = createHash('sha256');
  // the size is part of the pixel identity: 2x6 and 6x2 images can share their bytes
  px.update(`${img.pixels.width}x${img.pixels.height}:`);
  px.update(img.pixels.data);
  const thumb = await greyThumbnail(img.pixels);
  return {
    path: img.path,
    width: img.width,
    height: img.height,
    fileSha256: createHash('sha256').update(img.bytes).digest('hex'),
    pixelSha256: px.digest('hex'),
    phash: phashFromThumbnail(thumb),
    thumb,
  };
}

function pairKind(a: ImageFingerprint, b: ImageFingerprint, threshold: number, cropCheck: boolean): DuplicatePair | undefined {
  const distance = hamming(a.phash, b.phash);
  let kind: DuplicateKind | undefined;
  if (a.fileSha256 === b.fileSha256) kind = 'exact-bytes';
  else if (a.pixelSha256 === b.pixelSha256) kind = 'exact-pixels';
  else if (a.phash.informative && b.phash.informative) {
    if (distance <= threshold) kind = 'near';
    else if (cropCheck && distance <= CROP_CHECK_MAX_DISTANCE && cropResidual(a.thumb, b.thumb, CROP_RESIDUAL_LIMIT) <= CROP_RESIDUAL_LIMIT)
      kind = 'near-crop';
  }
  return kind && { a: a.path, b: b.path, kind, distance };
}

/** All pairs compared (fine for LoRA-sized sets: 10k images are 50M popcounts). */
export function findDuplicates(fps: readonly ImageFingerprint[], opts: DedupeOptions = {}): DuplicateReport {
  const threshold = opts.threshold ?? DEFAULT_PHASH_THRESHOLD;
  const cropCheck = opts.cropCheck ?? true;
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > 64)
    throw new RangeError(`threshold must be an integer from 0 to 64, got ${threshold}`);
  const parent = fps.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const pairs: DuplicatePair[] = [];
  for (let i = 0; i < fps.length; i++)
    for (let j = i + 1; j < fps.length; j++) {
      const p = pairKind(fps[i], fps[j], threshold, cropCheck);
      if (!p) continue;
      pairs.push(p);
      parent[find(j)] = find(i);
    }
  const byRoot = new Map<number, string[]>();
  fps.forEach((f, i) => {
    const r = find(i);
    byRoot.set(r, [...(byRoot.get(r) ?? []), f.path]);
  });
  const groups = [...byRoot.values()]
    .filter((g) => g.length > 1)
    .map((g) => g.sort())
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { groups, pairs, threshold, images: fps.length };
}

/** Human-readable report: one block per group. */
export function formatDuplicateReport(r: DuplicateReport): string[] {
  if (r.groups.length === 0) return [`no duplicates among ${r.images} image(s) (pHash threshold ${r.threshold})`];
  const lines = [`${r.groups.length} group(s) of duplicates among ${r.images} image(s) (pHash threshold ${r.threshold}):`];
  r.groups.forEach((g, i) => {
    const kinds = new Set(
      r.pairs.filter((p) => g.includes(p.a)).map((p) => (p.kind.startsWith('near') ? `${p.kind}, ${p.distance} bits` : p.kind)),
    );
    lines.push(`group ${i + 1} (${[...kinds].join('; ')}):`);
    for (const p of g) lines.push(`  ${p}`);
  });
  lines.push('keep one image of each group (or train with --allow-duplicates)');
  return lines;
}
