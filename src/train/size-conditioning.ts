// SDXL micro-conditioning of a training image, as sd-scripts' dataset builds it per sample
// (original_sizes_hw, crop_top_lefts, target_sizes_hw): the image's size before resizing, where it
// sits in its bucket when scaled to fit (mirrored when the sample is flipped), and the bucket.
// sd-scripts feeds these through get_size_embeddings; diffusers' UNet does the same embedding
// inside (add_time_proj), so the raw six numbers are what lyco passes.

import { getCropLtrb } from '../data/buckets.ts';
import type { BatchItem } from '../data/epoch-batches.ts';
import type { SizeConditioning } from './text-conditioning.ts';

export function sizeConditioning(item: Pick<BatchItem, 'entry' | 'flipped'>): SizeConditioning {
  const [bw, bh] = item.entry.bucketReso;
  const [ow, oh] = item.entry.imageSize;
  const [left, top, right] = getCropLtrb(item.entry.bucketReso, item.entry.imageSize);
  // Flipped: the image's right edge becomes its left (target width − right).
  const cropLeft = item.flipped ? bw - right : left;
  // Python int() of the float values: truncation.
  return [oh, ow, Math.trunc(top), Math.trunc(cropLeft), bh, bw];
}
