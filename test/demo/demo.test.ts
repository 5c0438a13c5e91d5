// A shortened `lyco demo` (few images and steps, real training on the tiny model): the grid and the
// plot are written and not blank, both grid halves hold images, the events file exists and the
// purple metric is computed without and with the adapter. Learning itself is shown by the full
// demo, not asserted here (a few steps are not reliably enough).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { FULL, runDemo } from '../../src/demo/index.ts';
import * as torch from '../../src/torch/index.ts';

torch.setNumThreads(1);

/** Distinct RGB values in columns [x0, x1) of a PNG. */
async function colours(path: string, x0f: number, x1f: number): Promise<number> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const seen = new Set<number>();
  const [x0, x1] = [Math.floor(x0f * info.width), Math.floor(x1f * info.width)];
  for (let y = 0; y < info.height; y++)
    for (let x = x0; x < x1; x++) {
      const i = (y * info.width + x) * 3;
      seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
  return seen.size;
}

test('a short demo run writes a non-blank before/after grid, a d*lr/loss plot, events and the metric', async () => {
  const out = mkdtempSync(join(tmpdir(), 'lyco-demo-'));
  try {
    const r = await runDemo({
      ...FULL,
      preset: 'ia3',
      out,
      images: 12,
      epochs: 3,
      batch: 4,
      metricSeeds: 1,
      gridSeeds: 2,
      sampleSteps: 5,
      progress: false,
      log: () => {},
    });
    assert.equal(r.steps, 9, '12 images / batch 4 x 3 epochs');
    assert.ok(existsSync(r.adapter));
    assert.ok(
      readdirSync(r.logDir).some((n) => n.startsWith('events.out.tfevents')),
      'TensorBoard events',
    );
    // Grid: before block, a blank column, after block; each half holds real images.
    assert.ok((await colours(r.grid, 0, 0.45)) > 20, 'left half (without adapter) not blank');
    assert.ok((await colours(r.grid, 0.55, 1)) > 20, 'right half (with adapter) not blank');
    assert.ok((await colours(r.plot, 0, 1)) > 3, 'plot has curves, not only background');
    for (const s of [r.without, r.with]) {
      assert.equal(s.n, 18);
      assert.ok(s.purple >= 0 && s.purple <= 1);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
