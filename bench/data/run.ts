// Images per second through the data pipeline on this machine: check+decode+fingerprint (the
// dataset scan), bucket assignment, resize+crop to the bucket, and latent caching with a
// stand-in encoder (8x subsampling; a real VAE costs far more). Prints figures, asserts nothing.
// Usage: node --import tsx bench/data/run.ts [images=64] [long side=1536]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { blueprintFromFolders } from '../../src/data/dataset-config.ts';
import { cacheLatents } from '../../src/data/latent-cache.ts';
import { loadDataset } from '../../src/data/load-dataset.ts';
import { mapPool } from '../../src/data/pool.ts';
import { prepareImage } from '../../src/data/prepare-image.ts';
import { PyRandom } from '../../src/data/py-random.ts';

const n = Number(process.argv[2] ?? 64);
const longSide = Number(process.argv[3] ?? 1536);
const root = mkdtempSync(join(tmpdir(), 'lyco-bench-data-'));
const dir = join(root, '1_bench');
mkdirSync(dir);

try {
  // distinct noisy photos-ish: random blocks blurred, so JPEG sizes are realistic
  const rng = new PyRandom(1);
  for (let i = 0; i < n; i++) {
    const portrait = i % 3 === 0;
    const w = portrait ? Math.round(longSide * 0.66) : longSide;
    const h = portrait ? longSide : Math.round(longSide * (0.56 + (0.2 * (i % 4)) / 3));
    const small = Buffer.alloc(32 * 24 * 3);
    for (let k = 0; k < small.length; k++) small[k] = rng.randint(0, 255);
    const img = await sharp(small, { raw: { width: 32, height: 24, channels: 3 } })
      .resize(w, h, { kernel: 'cubic' })
      .jpeg({ quality: 90 })
      .toBuffer();
    writeFileSync(join(dir, `b${String(i).padStart(3, '0')}.jpg`), img);
  }
  const line = (what: string, secs: number, count = n) =>
    console.log(`${what.padEnd(50)} ${(count / secs).toFixed(1).padStart(7)} images/s  (${secs.toFixed(2)} s for ${count})`);

  console.log(`data bench: ${n} JPEGs, long side ${longSide}px, resolution 1024, buckets 256..2048 step 64`);
  let t0 = performance.now();
  const bp = blueprintFromFolders(root, undefined, { resolution: 1024, enable_bucket: true, max_bucket_reso: 2048 });
  const ds = await loadDataset(bp, { log: () => {}, progress: false });
  const tScan = (performance.now() - t0) / 1000;
  line('scan: decode + check + hash + dedupe + bucket', tScan);

  t0 = performance.now();
  await mapPool(ds.images, 2, (e) =>
    prepareImage(e.path, e.imageSize, { bucketReso: e.bucketReso, resizedSize: e.resizedSize, randomCrop: false, flip: false }),
  );
  const tPrep = (performance.now() - t0) / 1000;
  line('decode + resize + crop to the bucket', tPrep);

  let tCache = Number.NaN;
  try {
    // the addon may be missing on this machine: then the cache line is skipped
    await import('../../src/torch/index.ts');
    const encode = (x: import('../../src/torch/index.ts').Tensor) => x.slice(2, 0, null, 8).slice(3, 0, null, 8);
    t0 = performance.now();
    const cache = await cacheLatents(ds, encode, { mode: 'memory', encoderId: 'bench', vae_batch_size: 4, progress: false });
    tCache = (performance.now() - t0) / 1000;
    cache.dispose();
    line('latent cache (decode + resize + stand-in encoder)', tCache);
  } catch (e) {
    console.log(`latent cache: skipped (${(e as Error).message.split('\n')[0]})`);
  }
  const total = tScan + (Number.isNaN(tCache) ? tPrep : tCache);
  line('end to end: scan + bucket + cache', total);
} finally {
  rmSync(root, { recursive: true, force: true });
}
