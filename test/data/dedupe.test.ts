// A generated dataset with planted exact and near duplicates (byte copies, lossless re-encodes,
// resized, re-encoded JPEG/WebP, slightly cropped and combined copies) among distinct images,
// some of which share background and palette (hard negatives). Precision and recall over pairs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { findDuplicates } from '../../src/data/dedupe.ts';
import { dedupeDirectory } from '../../src/data/dedupe-dir.ts';
import { phashFromGrey32 } from '../../src/data/phash.ts';
import { cropped, jpeg, png, type Raw, resized, synthImage, webp } from './synth-images.ts';

const dir = mkdtempSync(join(tmpdir(), 'lyco-dedupe-'));
/** planted group per written file; distinct files get their own id */
const truth = new Map<string, number>();

type Copy = [name: string, make: (o: Raw, file: Buffer) => Promise<Buffer>];
const copies: Copy[] = [
  ['bytes', async (_o, file) => file],
  // the original file's pixels, re-encoded without loss: same pixels, other bytes
  ['lossless-webp', (_o, file) => sharp(file).webp({ lossless: true }).toBuffer()],
  ['half', async (o) => png(await resized(o, 0.5))],
  ['x0.7', async (o) => jpeg(await resized(o, 0.7), 92)],
  ['x1.3', async (o) => png(await resized(o, 1.3))],
  ['q45', (o) => jpeg(o, 45)],
  ['q75', (o) => jpeg(o, 75)],
  ['webp', (o) => webp(o)],
  ['crop3', async (o) => png(await cropped(o, 0.03))],
  ['crop5', async (o) => jpeg(await cropped(o, 0.05), 90)],
  ['crop8', async (o) => png(await cropped(o, 0.08))],
  ['crop4-x0.6-q60', async (o) => jpeg(await resized(await cropped(o, 0.04), 0.6), 60)],
];

before(async () => {
  mkdirSync(join(dir, '10_subject'));
  mkdirSync(join(dir, '1_reg'));
  for (let i = 0; i < 48; i++) {
    // 24 images in families of three share background and palette
    const familySeed = i < 24 ? 500 + Math.floor(i / 3) : undefined;
    const o = synthImage({ width: 240 + ((i * 37) % 280), height: 240 + ((i * 53) % 280), seed: 100 + i, familySeed });
    const sub = i % 4 === 3 ? '1_reg' : '10_subject';
    const ext = ['png', 'jpg', 'webp'][i % 3];
    const orig = ext === 'png' ? await png(o) : ext === 'jpg' ? await jpeg(o, 95) : await webp(o);
    const name = join(dir, sub, `img${String(i).padStart(2, '0')}.${ext}`);
    writeFileSync(name, orig);
    truth.set(name, i);
    // the first 24 originals get one planted copy each (two for every fourth)
    if (i >= 24) continue;
    const picks = i % 4 === 0 ? [i % copies.length, (i + 5) % copies.length] : [i % copies.length];
    for (const k of picks) {
      const [label, make] = copies[k];
      const bytes = await make(o, orig);
      const cext =
        label === 'bytes' ? ext : bytes.subarray(0, 4).toString('latin1') === 'RIFF' ? 'webp' : bytes[0] === 0xff ? 'jpg' : 'png';
      const cname = join(dir, '10_subject', `copy${i}_${label}.${cext}`);
      writeFileSync(cname, bytes);
      truth.set(cname, i);
    }
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

function pairsOf(groups: string[][]): Set<string> {
  const s = new Set<string>();
  for (const g of groups) for (let i = 0; i < g.length; i++) for (let j = i + 1; j < g.length; j++) s.add([g[i], g[j]].sort().join('|'));
  return s;
}

test('planted duplicates are flagged with no false positives (precision and recall)', async (t) => {
  const { report, problems } = await dedupeDirectory(dir, { progress: false });
  assert.deepEqual(problems, []);
  assert.equal(report.images, truth.size);

  const byId = new Map<number, string[]>();
  for (const [p, id] of truth) byId.set(id, [...(byId.get(id) ?? []), p]);
  const expected = pairsOf([...byId.values()].map((g) => g.sort()));
  const found = pairsOf(report.groups);
  const tp = [...found].filter((p) => expected.has(p)).length;
  const precision = found.size === 0 ? 1 : tp / found.size;
  const recall = tp / expected.size;
  t.diagnostic(
    `images ${truth.size}, planted pairs ${expected.size}, flagged pairs ${found.size}, precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}`,
  );
  const falsePositives = [...found].filter((p) => !expected.has(p));
  const missed = [...expected].filter((p) => !found.has(p));
  assert.deepEqual(falsePositives, [], 'no distinct images grouped together');
  assert.deepEqual(missed, [], 'every planted copy found');

  // the exact kinds are told apart
  const ofKind = (k: string) => report.pairs.filter((p) => p.kind === k).map((p) => `${p.a}|${p.b}`);
  assert.ok(ofKind('exact-bytes').length > 0);
  for (const p of ofKind('exact-bytes')) assert.match(p, /_bytes\./);
  assert.ok(ofKind('exact-pixels').length > 0);
  for (const p of ofKind('exact-pixels')) assert.match(p, /_lossless-webp\./);
  assert.ok(
    report.pairs.some((p) => p.kind === 'near-crop'),
    'some crops are beyond the pHash threshold and found by the crop check',
  );
});

test('without the crop check, pHash alone still flags no distinct pair', async (t) => {
  const { report } = await dedupeDirectory(dir, { progress: false, cropCheck: false });
  const byId = new Map<number, string[]>();
  for (const [p, id] of truth) byId.set(id, [...(byId.get(id) ?? []), p]);
  const expected = pairsOf([...byId.values()].map((g) => g.sort()));
  const found = [...pairsOf(report.groups)];
  const tp = found.filter((p) => expected.has(p)).length;
  t.diagnostic(
    `pHash only (threshold ${report.threshold}): precision ${(tp / Math.max(1, found.length)).toFixed(3)}, recall ${(tp / expected.size).toFixed(3)}`,
  );
  for (const g of report.groups) {
    const ids = new Set(g.map((p) => truth.get(p)));
    assert.equal(ids.size, 1, `group mixes distinct images: ${g.join(', ')}`);
  }
  assert.ok(report.groups.length >= 20, `found ${report.groups.length} groups`);
});

test('flat images are not near duplicates of each other, only exact ones', () => {
  const flat = (v: number) => phashFromGrey32(new Uint8Array(1024).fill(v));
  assert.equal(flat(10).informative, false);
  const fp = (path: string, v: number, sha: string) => ({
    path,
    width: 32,
    height: 32,
    fileSha256: sha,
    pixelSha256: sha,
    phash: flat(v),
    thumb: new Uint8Array(64 * 64).fill(v),
  });
  const r = findDuplicates([fp('a', 10, 'x'), fp('b', 200, 'y'), fp('c', 10, 'x')]);
  assert.deepEqual(r.groups, [['a', 'c']]);
});

test('lyco dedupe DIR --json prints the groups', () => {
  const r = spawnSync(process.execPath, ['bin/lyco.mjs', 'dedupe', dir, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(Array.isArray(out.groups) && out.groups.length > 0);
  for (const g of out.groups) {
    assert.ok(g.length >= 2);
    assert.equal(new Set(g.map((p: string) => truth.get(p))).size, 1);
  }
  const bad = spawnSync(process.execPath, ['bin/lyco.mjs', 'dedupe', dir, '--threshold', '99'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /0 to 64/);
});
