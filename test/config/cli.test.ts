// `lyco presets`, `lyco init`, `lyco plan --json` through the real entry point.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PRESETS } from '../../src/config/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lyco = (args: string[], cwd = root) =>
  spawnSync(process.execPath, [join(root, 'bin', 'lyco.mjs'), ...args], { cwd, encoding: 'utf8' });

test('presets lists both presets; init writes the guide text and leaves no temporary file', (t) => {
  const list = lyco(['presets', '--json']);
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(
    JSON.parse(list.stdout).map((p: { name: string }) => p.name),
    ['ia3', 'lokr'],
  );
  const dir = mkdtempSync(join(tmpdir(), 'lyco-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'my.json');
  const r = lyco(['init', '--preset', 'LoKr', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8'), PRESETS[1].text);
  assert.deepEqual(readdirSync(dir), ['my.json']);
  const again = lyco(['init', '--preset', 'lokr', '--out', out]);
  assert.notEqual(again.status, 0, 'an existing file is not replaced without --force');
  assert.match(again.stderr, /exists; pass --force/);
});

test('plan --json on the iA3 preset with three buckets', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lyco-plan-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'ia3.json');
  assert.equal(lyco(['init', '--preset', 'ia3', '--out', cfg]).status, 0);
  const r = lyco(['plan', cfg, '--json', '--buckets', '7,5,3']);
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.equal(plan.stepsPerEpoch, 15);
  assert.equal(plan.totalSteps, 3000);
  assert.equal(plan.tMax, 3000);
  assert.equal(plan.tMaxGiven, 200);
  assert.equal(plan.tMaxEffective, 3000);
  assert.ok(plan.warnings.some((w: string) => /network_dropout/.test(w)));
  const bad = lyco(['plan', join(dir, 'missing.json'), '--images', '3']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /missing\.json: cannot read/);
});

test('plan scans <repeats>_<name> folders through src/data: batches per bucket', async (t) => {
  const { default: sharp } = await import('sharp');
  const dir = mkdtempSync(join(tmpdir(), 'lyco-ds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(dir, 'img', '10_x'), { recursive: true });
  mkdirSync(join(dir, 'img', '2_y'), { recursive: true });
  const png = (w: number, h: number, b: number, p: string) =>
    sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 10, b } } })
      .png()
      .toFile(p);
  await png(512, 512, 1, join(dir, 'img', '10_x', 'a.png'));
  await png(512, 768, 2, join(dir, 'img', '10_x', 'b.png'));
  await png(768, 512, 3, join(dir, 'img', '10_x', 'c.png'));
  await png(512, 768, 4, join(dir, 'img', '2_y', 'd.png'));
  const cfg = join(dir, 'c.toml');
  writeFileSync(
    cfg,
    `train_data_dir = "${join(dir, 'img')}"\nenable_bucket = true\ntrain_batch_size = 2\nmax_train_epochs = 3\nmax_grad_norm = 1.0\n`,
  );
  const r = lyco(['plan', cfg, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  // buckets (384,640): 10+2, (512,512): 10, (640,384): 10 → ceil(12/2)+ceil(10/2)+ceil(10/2)
  assert.equal(plan.imagesWithRepeats, 32);
  assert.equal(plan.batchesPerEpoch, 16);
  assert.equal(plan.totalSteps, 48);
});
