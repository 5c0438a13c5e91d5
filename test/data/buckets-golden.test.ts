// Every case in shared/golden/buckets reproduced: bucket lists and assignments exactly,
// ar_error and crop_ltrb within 1e-12 (the golden README's tolerance).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BucketError, BucketManager, centerCropOffset, getCropLtrb, makeBucketResolutions, type Size } from '../../src/data/buckets.ts';
import { goldenDir } from '../helpers/golden.ts';

interface GoldenImage {
  image_size: [number, number];
  bucket_reso?: [number, number];
  resized_size?: [number, number];
  ar_error?: number;
  crop_ltrb?: [number, number, number, number];
  center_crop_offset_xy?: [number, number];
  bucket_id_after_sort?: number;
  error?: string;
}
interface GoldenManager {
  bucket_manager_args: {
    no_upscale: boolean;
    max_reso: [number, number];
    min_size: number | null;
    max_size: number | null;
    reso_steps: number | null;
  };
  predefined_resos: [number, number][] | null;
  resos_after_sort: [number, number][];
  bucket_counts: number[];
  mean_img_ar_error: number;
  images: GoldenImage[];
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs golden ${b}`);

function runManager(g: GoldenManager, fixedBucket: boolean, label: string): void {
  const a = g.bucket_manager_args;
  const bm = new BucketManager<number>(
    a.no_upscale,
    a.max_reso,
    a.min_size ?? undefined,
    a.max_size ?? undefined,
    a.reso_steps ?? undefined,
  );
  if (fixedBucket) bm.setPredefinedResos([a.max_reso]);
  else if (!a.no_upscale) bm.makeBuckets();
  if (g.predefined_resos) assert.deepEqual(bm.predefinedResos, g.predefined_resos, `${label} predefined_resos`);
  else assert.equal(bm.predefinedResos.length, 0, `${label}: no predefined buckets with no_upscale`);

  const chosen: { reso: Size; resized: Size; ar: number }[] = [];
  g.images.forEach((img, i) => {
    const [w, h] = img.image_size;
    if (img.error) {
      assert.throws(() => bm.selectBucket(w, h), BucketError, `${label} image ${w}x${h} must be refused`);
      return;
    }
    const c = bm.selectBucket(w, h);
    bm.addImage(c.bucketReso, i);
    chosen.push({ reso: c.bucketReso, resized: c.resizedSize, ar: c.arError });
  });
  if (!fixedBucket) bm.sort();

  const ok = g.images.filter((im) => !im.error);
  if (ok.length > 0) {
    assert.deepEqual(bm.resos, g.resos_after_sort, `${label} resos_after_sort`);
    assert.deepEqual(
      bm.buckets.map((b) => b.length),
      g.bucket_counts,
      `${label} bucket_counts`,
    );
  }
  ok.forEach((img, i) => {
    const tag = `${label} image ${img.image_size.join('x')}`;
    const c = chosen[i];
    assert.deepEqual(c.reso, img.bucket_reso, `${tag} bucket_reso`);
    assert.deepEqual(c.resized, img.resized_size, `${tag} resized_size`);
    close(c.ar, img.ar_error as number, `${tag} ar_error`);
    const ltrb = getCropLtrb(c.reso, img.image_size);
    (img.crop_ltrb as number[]).forEach((v, k) => {
      close(ltrb[k], v, `${tag} crop_ltrb[${k}]`);
    });
    assert.deepEqual(centerCropOffset(c.reso, c.resized), img.center_crop_offset_xy, `${tag} center crop offset`);
    assert.equal(bm.bucketId(c.reso), img.bucket_id_after_sort, `${tag} bucket id after sort`);
  });
  if (ok.length > 0 && !fixedBucket) {
    const mean = chosen.reduce((s, c) => s + Math.abs(c.ar), 0) / chosen.length;
    close(mean, g.mean_img_ar_error, `${label} mean_img_ar_error`);
  }
}

test('golden buckets: every case reproduced exactly', (t) => {
  const dir = goldenDir(t, 'buckets');
  if (!dir) return;
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 3, `expected the golden bucket cases in ${dir}`);
  let managers = 0;
  for (const f of files) {
    const g = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const m = g.make_bucket_resolutions;
    const args = /\(\((\d+), (\d+)\), min_size=(\d+), max_size=(\d+), divisible=(\d+)\)/.exec(m.call);
    assert.ok(args, `${f}: cannot read make_bucket_resolutions call ${m.call}`);
    const [w, h, mn, mx, d] = args.slice(1).map(Number);
    const resos = makeBucketResolutions([w, h], mn, mx, d);
    assert.equal(resos.length, m.count, `${f} bucket count`);
    assert.deepEqual(resos, m.resos, `${f} make_bucket_resolutions`);
    for (const name of ['with_upscale', 'bucket_no_upscale', 'enable_bucket_false', 'bucket_no_upscale_degenerate']) {
      if (!g[name]) continue;
      runManager(g[name], name === 'enable_bucket_false', `${f} ${name}`);
      managers++;
    }
  }
  assert.ok(managers >= 10, `ran ${managers} bucket managers`);
});
