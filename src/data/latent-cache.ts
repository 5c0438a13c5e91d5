// Latents computed once per image and bucket: in memory, or on disk next to the image as
// `<stem>_<W>x<H>_lyco.safetensors` (sd-scripts' `<stem>_<W:04d>x<H:04d>_sd.npz` naming). A disk
// entry is used only if its metadata still matches the image bytes (sha256), the bucket and
// resize sizes and the encoder id; anything else is encoded again.

import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import * as torch from '../torch/index.ts';
import type { Size } from './buckets.ts';
import type { ImageEntry, LoadedDataset } from './load-dataset.ts';
import { prepareImage, toChwFloat } from './prepare-image.ts';
import { type ProgressOption, progressBar } from './progress.ts';

type Tensor = torch.Tensor;

/** [B, 3, H, W] float32 in [-1, 1] -> [B, C, H/8, W/8] (the VAE's latent_dist.sample()). */
export type Encoder = (batch: Tensor) => Tensor;

export interface LatentCacheOptions {
  /** 'memory' keeps tensors; 'disk' writes next to each image and reads back when used */
  mode: 'memory' | 'disk';
  /** identifies the encoder (VAE file hash, dtype): a different one invalidates disk entries */
  encoderId: string;
  /** images encoded at once (sd-scripts' vae_batch_size) */
  vae_batch_size?: number;
  progress?: ProgressOption;
}

const FORMAT = 'lyco-latents-1';

export interface CacheStats {
  encoded: number;
  reused: number;
  encoderCalls: number;
}

function cachePath(e: ImageEntry): string {
  const stem = basename(e.path, extname(e.path));
  const [w, h] = e.bucketReso;
  return join(dirname(e.path), `${stem}_${String(w).padStart(4, '0')}x${String(h).padStart(4, '0')}_lyco.safetensors`);
}

function metadataFor(e: ImageEntry, encoderId: string, flip: boolean): Record<string, string> {
  return {
    format: FORMAT,
    image_sha256: e.fileSha256,
    bucket_reso: e.bucketReso.join('x'),
    resized_size: e.resizedSize.join('x'),
    original_size: e.imageSize.join('x'),
    encoder: encoderId,
    flipped: String(flip),
  };
}

function diskEntryValid(path: string, want: Record<string, string>): boolean {
  if (!existsSync(path)) return false;
  try {
    const h = torch.safetensors.readHeader(path);
    const names = new Set(h.tensors.map((t) => t.name));
    if (!names.has('latents') || (want.flipped === 'true' && !names.has('latents_flipped'))) return false;
    return Object.entries(want).every(([k, v]) => k === 'flipped' || h.metadata[k] === v);
  } catch {
    return false; // unreadable: encode again and overwrite
  }
}

export class LatentCache {
  private readonly memory = new Map<string, { latents: Tensor; flipped?: Tensor }>();
  readonly stats: CacheStats = { encoded: 0, reused: 0, encoderCalls: 0 };

  constructor(readonly mode: 'memory' | 'disk') {}

  /** The cached latents of an image ([C, h, w]); disk entries are memory-mapped, dispose when done. */
  get(e: ImageEntry, flipped = false): Tensor {
    if (this.mode === 'memory') {
      const m = this.memory.get(e.path);
      const t = flipped ? m?.flipped : m?.latents;
      if (!t) throw new Error(`${e.path}: no cached latents${flipped ? ' (flipped)' : ''}; run cacheLatents first`);
      return t;
    }
    const file = torch.safetensors.load(cachePath(e));
    const name = flipped ? 'latents_flipped' : 'latents';
    const t = file.get(name);
    for (const [k, v] of file) if (k !== name) v.dispose();
    if (!t) throw new Error(`${cachePath(e)}: has no ${name}; delete it to encode again`);
    return t;
  }

  /** @internal */
  put(e: ImageEntry, latents: Tensor, flipped?: Tensor): void {
    this.memory.set(e.path, { latents: latents.keep(), flipped: flipped?.keep() });
  }

  dispose(): void {
    for (const m of this.memory.values()) {
      m.latents.dispose();
      m.flipped?.dispose();
    }
    this.memory.clear();
  }
}

/**
 * Encodes every image of the dataset once, grouped by bucket (one tensor shape per batch).
 * Images are center-cropped and not flipped; with flip_aug the flipped image is encoded too.
 */
export async function cacheLatents(ds: Pick<LoadedDataset, 'images'>, encode: Encoder, o: LatentCacheOptions): Promise<LatentCache> {
  for (const e of ds.images)
    if (e.subset.random_crop || e.subset.color_aug)
      throw new Error(
        `${e.subset.image_dir}: random_crop and color_aug change every epoch and cannot use cached latents; turn them off or do not cache latents`,
      );
  const batchSize = o.vae_batch_size ?? 1;
  const cache = new LatentCache(o.mode);
  const todo: ImageEntry[] = [];
  for (const e of ds.images) {
    if (o.mode === 'disk' && diskEntryValid(cachePath(e), metadataFor(e, o.encoderId, e.subset.flip_aug))) cache.stats.reused++;
    else todo.push(e);
  }
  // by bucket, larger areas first, so one shape per batch
  const byBucket = new Map<string, ImageEntry[]>();
  for (const e of todo) {
    const k = e.bucketReso.join('x');
    byBucket.set(k, [...(byBucket.get(k) ?? []), e]);
  }
  const groups = [...byBucket.values()].sort((a, b) => area(b[0].bucketReso) - area(a[0].bucketReso));
  const bar = progressBar('caching latents', todo.length, o.progress);
  try {
    for (const group of groups)
      for (let i = 0; i < group.length; i += batchSize) {
        const batch = group.slice(i, i + batchSize);
        const pixels = await Promise.all(
          batch.map((e) =>
            prepareImage(e.path, e.imageSize, { bucketReso: e.bucketReso, resizedSize: e.resizedSize, randomCrop: false, flip: false }),
          ),
        );
        const [w, h] = batch[0].bucketReso;
        const flat = new Float32Array(batch.length * 3 * w * h);
        pixels.forEach((p, j) => {
          flat.set(toChwFloat(p.image), j * 3 * w * h);
        });
        torch.scope(() => {
          const x = torch.fromTypedArray(flat, [batch.length, 3, h, w]);
          const lat = encode(x);
          cache.stats.encoderCalls++;
          const flipAny = batch.some((e) => e.subset.flip_aug);
          let latF: Tensor | undefined;
          if (flipAny) {
            latF = encode(x.flip([3]));
            cache.stats.encoderCalls++;
          }
          batch.forEach((e, j) => {
            const one = lat.select(0, j).contiguous();
            const oneF = e.subset.flip_aug && latF ? latF.select(0, j).contiguous() : undefined;
            if (o.mode === 'memory') cache.put(e, one.clone(), oneF?.clone());
            else {
              const t: Record<string, Tensor> = { latents: one.to('float32') };
              if (oneF) t.latents_flipped = oneF.to('float32');
              torch.safetensors.save(cachePath(e), t, metadataFor(e, o.encoderId, e.subset.flip_aug));
            }
          });
        });
        cache.stats.encoded += batch.length;
        bar.tick(batch.length);
      }
  } finally {
    bar.stop();
  }
  return cache;
}

function area(s: Size): number {
  return s[0] * s[1];
}

export { cachePath as latentCachePath };
