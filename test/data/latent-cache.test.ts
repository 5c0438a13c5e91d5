// Latent cache with a deterministic stand-in encoder (8x subsampling plus a mean channel):
// encoded once, reused from disk, invalidated by a changed image or resolution.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { blueprintFromFolders } from '../../src/data/dataset-config.ts';
import { cacheLatents, latentCachePath } from '../../src/data/latent-cache.ts';
import { loadDataset } from '../../src/data/load-dataset.ts';
import { prepareImage } from '../../src/data/prepare-image.ts';
import * as torch from '../../src/torch/index.ts';
import { png, synthImage } from './synth-images.ts';

const root = mkdtempSync(join(tmpdir(), 'lyco-latents-'));
const sub = join(root, '2_cat');

let calls = 0;
/** [B,3,H,W] -> [B,4,H/8,W/8]: pixel (8y, 8x) of each channel, then their mean. */
function encode(x: torch.Tensor): torch.Tensor {
  calls++;
  const s = x.slice(2, 0, null, 8).slice(3, 0, null, 8);
  return torch.cat([s, s.mean([1], true)], 1);
}

before(async () => {
  mkdirSync(sub, { recursive: true });
  for (let i = 0; i < 5; i++)
    writeFileSync(join(sub, `c${i}.png`), await png(synthImage({ width: 256 + 64 * (i % 3), height: 256, seed: 30 + i })));
});
after(() => rmSync(root, { recursive: true, force: true }));

const load = (resolution: number, flip = false) =>
  loadDataset(blueprintFromFolders(root, undefined, { resolution, enable_bucket: true, min_bucket_reso: 128, flip_aug: flip }), {
    log: () => {},
    progress: false,
  });

test('memory cache: latents of the center-cropped bucket image, flipped too', async () => {
  const ds = await load(256, true);
  calls = 0;
  const cache = await cacheLatents(ds, encode, { mode: 'memory', encoderId: 'test', vae_batch_size: 2, progress: false });
  try {
    assert.equal(cache.stats.encoded, 5);
    const buckets = new Set(ds.images.map((e) => e.bucketReso.join('x'))).size;
    assert.ok(buckets >= 2);
    // one call per batch of one bucket, and one more for the flipped images
    assert.equal(cache.stats.encoderCalls, calls);
    assert.ok(calls <= 2 * (buckets + Math.ceil(5 / 2)));
    const e = ds.images[1];
    const lat = cache.get(e);
    const [w, h] = e.bucketReso;
    assert.deepEqual(lat.shape, [4, h / 8, w / 8]);
    const img = await prepareImage(e.path, e.imageSize, {
      bucketReso: e.bucketReso,
      resizedSize: e.resizedSize,
      randomCrop: false,
      flip: false,
    });
    const v = lat.toArray();
    // channel 0 at latent (1, 2) is red at pixel (16, 8)
    const red = img.image.data[(8 * w + 16) * 3];
    assert.ok(Math.abs(v[(0 * (h / 8) + 1) * (w / 8) + 2] - (red / 127.5 - 1)) < 1e-6);
    const f = cache.get(e, true).toArray();
    // flipped: latent column j is pixel column w-1-8j of the unflipped image
    const redF = img.image.data[(8 * w + (w - 1 - 16)) * 3];
    assert.ok(Math.abs(f[(0 * (h / 8) + 1) * (w / 8) + 2] - (redF / 127.5 - 1)) < 1e-6);
  } finally {
    cache.dispose();
  }
});

test('disk cache: written once, reused, redone for a changed image or resolution', async () => {
  const ds = await load(256);
  const first = await cacheLatents(ds, encode, { mode: 'disk', encoderId: 'test', progress: false });
  assert.deepEqual([first.stats.encoded, first.stats.reused], [5, 0]);
  const files = readdirSync(sub).filter((f) => f.endsWith('_lyco.safetensors'));
  assert.equal(files.length, 5);
  assert.ok(files.every((f) => /^c\d_\d{4}x\d{4}_lyco\.safetensors$/.test(f)));
  assert.ok(!readdirSync(sub).some((f) => f.endsWith('.tmp')), 'no temporary files left');

  const again = await cacheLatents(await load(256), encode, { mode: 'disk', encoderId: 'test', progress: false });
  assert.deepEqual([again.stats.encoded, again.stats.reused, again.stats.encoderCalls], [0, 5, 0]);
  const t = again.get(ds.images[0]);
  assert.equal(t.shape[0], 4);
  t.dispose();

  // a changed image: only it is encoded again
  writeFileSync(join(sub, 'c0.png'), await png(synthImage({ width: 256, height: 256, seed: 99 })));
  const changed = await cacheLatents(await load(256), encode, { mode: 'disk', encoderId: 'test', progress: false });
  assert.deepEqual([changed.stats.encoded, changed.stats.reused], [1, 4]);

  // another encoder: everything again
  const other = await cacheLatents(await load(256), encode, { mode: 'disk', encoderId: 'other-vae', progress: false });
  assert.equal(other.stats.encoded, 5);

  // another resolution: new buckets, new files
  const ds384 = await load(384);
  const bigger = await cacheLatents(ds384, encode, { mode: 'disk', encoderId: 'other-vae', progress: false });
  assert.equal(bigger.stats.encoded, 5);
  assert.notEqual(latentCachePath(ds384.images[0]), latentCachePath(ds.images[0]));
});

test('random_crop cannot be cached', async () => {
  const ds = await loadDataset(blueprintFromFolders(root, undefined, { resolution: 256, random_crop: true }), {
    log: () => {},
    progress: false,
  });
  await assert.rejects(
    cacheLatents(ds, encode, { mode: 'memory', encoderId: 'x', progress: false }),
    /random_crop .* cannot use cached latents/,
  );
});
