// Bad images each produce one line naming the file and loading goes on (or refuses under strict);
// kohya folders, captions, reg balancing, EXIF orientation, alpha, buckets and batches end to end.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { formatBucketSummary } from '../../src/data/assign-buckets.ts';
import { blueprintFromFolders, type FolderWarning } from '../../src/data/dataset-config.ts';
import { EpochSampler } from '../../src/data/epoch-batches.ts';
import { checkImage, MAX_IMAGE_PIXELS } from '../../src/data/image-decode.ts';
import { DatasetError } from '../../src/data/image-problems.ts';
import { loadDataset } from '../../src/data/load-dataset.ts';
import { prepareImage } from '../../src/data/prepare-image.ts';
import { jpeg, png, synthImage, webp } from './synth-images.ts';

const root = mkdtempSync(join(tmpdir(), 'lyco-data-'));
const train = join(root, 'train');
const sub = join(train, '3_sks dog');
const reg = join(root, 'reg');

/** A PNG whose header claims w x h (with a CRC-correct IHDR) and no pixel data. */
function pngHeader(w: number, h: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const bad = {
  corrupt: join(sub, 'corrupt.jpg'),
  truncated: join(sub, 'truncated.png'),
  zero: join(sub, 'zero.webp'),
  wrongExt: join(sub, 'wrong.png'),
  huge: join(sub, 'huge.png'),
};

before(async () => {
  mkdirSync(sub, { recursive: true });
  mkdirSync(join(train, 'notes'), { recursive: true }); // no repeats: ignored with a warning
  mkdirSync(join(reg, '1_dog'), { recursive: true });
  for (let i = 0; i < 4; i++) {
    const img = synthImage({ width: 320 + i * 96, height: 384 - i * 32, seed: i + 1 });
    writeFileSync(join(sub, `a${i}.png`), await png(img));
    if (i < 3) writeFileSync(join(sub, `a${i}.txt`), `sks dog, tag${i}a, tag${i}b\nsecond line ignored\n`);
  }
  // EXIF orientation 6: stored 300x200, shown 200x300
  const o = synthImage({ width: 300, height: 200, seed: 9 });
  writeFileSync(
    join(sub, 'rotated.jpg'),
    await sharp(o.data, { raw: { width: 300, height: 200, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer(),
  );
  // RGBA: top half opaque black, bottom half fully transparent red, which must come out white
  const rgba = Buffer.alloc(256 * 256 * 4);
  for (let i = 0; i < 256 * 256; i++) rgba.writeUInt32BE(i < 128 * 256 ? 0x000000ff : 0xff000000, i * 4);
  writeFileSync(
    join(sub, 'alpha.png'),
    await sharp(rgba, { raw: { width: 256, height: 256, channels: 4 } })
      .png()
      .toBuffer(),
  );
  for (let i = 0; i < 2; i++)
    writeFileSync(join(reg, '1_dog', `r${i}.webp`), await webp(synthImage({ width: 256, height: 256, seed: 50 + i })));

  const good = await png(synthImage({ width: 200, height: 200, seed: 77 }));
  writeFileSync(bad.corrupt, Buffer.from('this is a text file saved with a .jpg name'));
  writeFileSync(bad.truncated, good.subarray(0, Math.floor(good.length / 2)));
  writeFileSync(bad.zero, Buffer.alloc(0));
  writeFileSync(bad.wrongExt, await jpeg(synthImage({ width: 200, height: 200, seed: 78 })));
  writeFileSync(bad.huge, pngHeader(100_000, 100_000));
});

after(() => rmSync(root, { recursive: true, force: true }));

test('each broken image gives one line naming the file and the fix', async () => {
  const expect: [string, string, RegExp][] = [
    [bad.corrupt, 'unreadable', /not a readable image .*re-save it/],
    [bad.truncated, 'truncated', /cut short .*copy or download it again/],
    [bad.zero, 'zero-byte', /empty file \(0 bytes\)/],
    [bad.wrongExt, 'wrong-extension', /is JPEG but its name ends in \.png; rename it to wrong\.jpg/],
    [bad.huge, 'huge-dimension', new RegExp(`100000x100000 .* ${MAX_IMAGE_PIXELS.toLocaleString('en-US')}-pixel limit`)],
  ];
  for (const [path, kind, re] of expect) {
    const r = await checkImage(path);
    assert.ok('problem' in r, `${path} must be refused`);
    assert.equal(r.problem.kind, kind);
    assert.ok(r.problem.message.startsWith(`${path}: `), r.problem.message);
    assert.match(r.problem.message, re);
    assert.ok(!r.problem.message.includes('\n'), 'one line');
  }
});

test('loading skips the broken images with a line each and goes on with the rest', async () => {
  const warnings: FolderWarning[] = [];
  const bp = blueprintFromFolders(train, reg, { resolution: 256, enable_bucket: true, caption_extension: 'txt', batch_size: 2 }, warnings);
  assert.equal(bp.subsets.length, 2);
  assert.equal(bp.subsets[0].class_tokens, 'sks dog');
  assert.equal(bp.subsets[0].num_repeats, 3);
  assert.equal(bp.subsets[0].caption_extension, '.txt');
  assert.match(warnings[0].message, /notes: ignored/);

  const log: string[] = [];
  const ds = await loadDataset(bp, { log: (l) => log.push(l), progress: false });
  for (const p of Object.values(bad)) assert.equal(log.filter((l) => l.startsWith(`${p}: `)).length, 1, `one line for ${p}`);
  assert.deepEqual(ds.problems.map((p) => p.kind).sort(), ['huge-dimension', 'truncated', 'unreadable', 'wrong-extension', 'zero-byte']);
  const names = ds.images.filter((e) => !e.isReg).map((e) => e.path.slice(e.path.lastIndexOf('/') + 1));
  assert.deepEqual(names.sort(), ['a0.png', 'a1.png', 'a2.png', 'a3.png', 'alpha.png', 'rotated.jpg']);

  // captions: first line of the .txt, class tokens when missing
  const byName = new Map(ds.images.map((e) => [e.path.slice(e.path.lastIndexOf('/') + 1), e]));
  assert.equal(byName.get('a1.png')?.caption, 'sks dog, tag1a, tag1b');
  assert.equal(byName.get('a3.png')?.caption, 'sks dog');
  assert.ok(log.some((l) => /have no \.txt caption file; the class tokens "sks dog" are used/.test(l)));

  // EXIF orientation honoured: the rotated JPEG is portrait
  assert.deepEqual(byName.get('rotated.jpg')?.imageSize, [200, 300]);

  // reg images balanced up to the 6 x 3 = 18 train images with repeats: 2 reg images, 9 each
  assert.equal(ds.numTrainImages, 18);
  const regs = ds.images.filter((e) => e.isReg);
  assert.equal(regs.length, 2);
  assert.deepEqual(
    regs.map((e) => e.numRepeats),
    [9, 9],
  );

  // every image is in its bucket once per repeat; the summary counts them
  const total = ds.buckets.manager.buckets.reduce((s, b) => s + b.length, 0);
  assert.equal(total, 18 + 18);
  const summary = formatBucketSummary(ds.buckets);
  assert.match(summary[0], /^number of images \(including repeats\)/);
  assert.match(summary[1], /^bucket 0: resolution \(\d+, \d+\), count: \d+$/);
  assert.match(summary.at(-1) as string, /^mean ar error \(without repeats\): \d/);

  // batches come from one bucket each, and cover every image with its repeats
  const sampler = new EpochSampler(ds.images, ds.buckets, 2, 1234);
  const batches = [...sampler.batches(1)];
  assert.equal(batches.length, sampler.length);
  let seen = 0;
  for (const b of batches) {
    assert.ok(b.items.length >= 1 && b.items.length <= 2);
    for (const it of b.items) assert.deepEqual(it.entry.bucketReso, b.bucketReso);
    seen += b.items.length;
  }
  assert.equal(seen, 36);
});

test('strict refuses, listing every broken image', async () => {
  const bp = blueprintFromFolders(train, undefined, { resolution: 256, enable_bucket: true, caption_extension: '.txt' });
  await assert.rejects(loadDataset(bp, { strict: true, log: () => {}, progress: false }), (e: unknown) => {
    assert.ok(e instanceof DatasetError);
    assert.equal(e.problems.length, 5);
    for (const p of Object.values(bad)) assert.ok(e.message.includes(`${p}: `), `message names ${p}`);
    return true;
  });
});

test('duplicates refuse loading unless allowed', async () => {
  const dir = join(root, 'dups');
  mkdirSync(join(dir, '1_x'), { recursive: true });
  const b = await png(synthImage({ width: 256, height: 256, seed: 5 }));
  writeFileSync(join(dir, '1_x', 'one.png'), b);
  writeFileSync(join(dir, '1_x', 'two.png'), b);
  writeFileSync(join(dir, '1_x', 'other.png'), await png(synthImage({ width: 256, height: 256, seed: 6 })));
  const bp = blueprintFromFolders(dir, undefined, { resolution: 256 });
  await assert.rejects(loadDataset(bp, { log: () => {}, progress: false }), /one\.png[\s\S]*two\.png[\s\S]*allow_duplicates/);
  const ds = await loadDataset(bp, { log: () => {}, progress: false, allow_duplicates: true });
  assert.equal(ds.images.length, 3);
  assert.equal(ds.duplicates.groups.length, 1);
});

test('prepared images: alpha flattened to white, bucket size, center crop and flip', async () => {
  const alpha = join(sub, 'alpha.png');
  const p = await prepareImage(alpha, [256, 256], { bucketReso: [128, 128], resizedSize: [128, 128], randomCrop: false, flip: false });
  assert.equal(p.image.width, 128);
  assert.equal(p.image.height, 128);
  const px = (x: number, y: number) => [...p.image.data.subarray((y * 128 + x) * 3, (y * 128 + x) * 3 + 3)];
  assert.deepEqual(px(10, 10), [0, 0, 0], 'opaque black stays black');
  assert.deepEqual(px(10, 120), [255, 255, 255], 'transparent becomes white');

  // 300x200 resized to 384x256 into a 256x256 bucket: crop x = 64 (excess // 2)
  const src = join(sub, 'a0.png');
  const plain = await prepareImage(src, [320, 384], { bucketReso: [256, 256], resizedSize: [256, 307], randomCrop: false, flip: false });
  assert.deepEqual(plain.cropOffset, [0, 25]);
  const flipped = await prepareImage(src, [320, 384], { bucketReso: [256, 256], resizedSize: [256, 307], randomCrop: false, flip: true });
  const row = (img: typeof plain, y: number, x: number) => [...img.image.data.subarray((y * 256 + x) * 3, (y * 256 + x) * 3 + 3)];
  assert.deepEqual(row(flipped, 17, 3), row(plain, 17, 252), 'flip mirrors left and right');
});
