// One pass over a list of image files: validate and decode each (so truncated files are found
// before training, not in epoch 12), record its oriented size, and fingerprint it for dedupe.
import { availableParallelism } from 'node:os';
import { fingerprint, type ImageFingerprint } from './dedupe.ts';
import { checkImage } from './image-decode.ts';
import type { ImageProblem } from './image-problems.ts';
import { mapPool } from './pool.ts';
import { type ProgressOption, progressBar } from './progress.ts';

export interface ScannedImage {
  path: string;
  format: string;
  /** after EXIF orientation */
  width: number;
  height: number;
  fingerprint: ImageFingerprint;
}

export interface ScanResult {
  images: ScannedImage[];
  problems: ImageProblem[];
}

export interface ScanOptions {
  /** images decoded at once (each holds a full-size RGB buffer); default: CPU count, at most 4 */
  concurrency?: number;
  progress?: ProgressOption;
  label?: string;
}

export async function scanImages(paths: readonly string[], opts: ScanOptions = {}): Promise<ScanResult> {
  const bar = progressBar(opts.label ?? 'checking images', paths.length, opts.progress);
  const concurrency = opts.concurrency ?? Math.min(4, availableParallelism());
  try {
    const results = await mapPool(paths, concurrency, async (path): Promise<ScannedImage | ImageProblem> => {
      const r = await checkImage(path);
      bar.tick();
      if ('problem' in r) return r.problem;
      const { format, width, height } = r.image;
      return { path, format, width, height, fingerprint: await fingerprint(r.image) };
    });
    const images: ScannedImage[] = [];
    const problems: ImageProblem[] = [];
    for (const r of results) {
      if ('kind' in r) problems.push(r);
      else images.push(r);
    }
    return { images, problems };
  } finally {
    bar.stop();
  }
}
