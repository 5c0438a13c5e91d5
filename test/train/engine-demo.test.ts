// The engine demo trains: the loss falls and the weights are written and load back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { safetensors } from '../../src/index.ts';
import { runEngineDemo } from '../../src/train/engine-demo.ts';

test('engine demo: loss falls under Prodigy and the weights save atomically', () => {
  const out = mkdtempSync(join(tmpdir(), 'lyco-demo-'));
  try {
    const r = runEngineDemo({ steps: 120, outDir: out, quiet: true });
    assert.ok(r.lastLoss < 0.6 * r.firstLoss, `loss ${r.firstLoss} -> ${r.lastLoss}`);
    assert.ok(r.dLr > 0);
    const f = safetensors.load(r.weights);
    assert.deepEqual(f.get('conv_in.weight')?.shape, [32, 4, 3, 3]);
    assert.equal(f.metadata['lyco.steps'], '120');
    f.dispose();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
