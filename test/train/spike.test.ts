// A d*lr spike planted at step 6 (d forced flat, then ×10) is detected at step 6 with cut-off 5,
// and each --dlr-spike policy does what it says: warn trains on, stop saves and ends, rollback
// reloads the last save at or before the cut-off (an earlier epoch) and trains to it with
// max_train_steps = T_max = 5.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { SpikePolicy } from '../../src/monitor/spike.ts';
import * as torch from '../../src/torch/index.ts';
import { train } from '../../src/train/trainer.ts';
import { readScalars, tinyArgs, workspace } from './harness.ts';

const K = 6;
const plant = (step: number, opt: { paramGroups: Record<string, unknown>[] }) => {
  for (const g of opt.paramGroups) g.d = step >= K ? 1e-2 : 1e-3;
};

async function run(policy: SpikePolicy, saveEvery = 2) {
  const ws = await workspace('ia3');
  const lines: string[] = [];
  const r = await train({
    config: ws.config,
    model: ws.model,
    data: ws.data,
    output: ws.out('out'),
    argv: tinyArgs('--max_train_epochs', '4', '--save_every_n_steps', String(saveEvery)),
    dlrSpike: policy,
    spikeOptions: { window: 3, minGrowth: 1 },
    progress: false,
    log: (l) => lines.push(l),
    hooks: { afterOptimizerStep: (s, opt) => plant(s, opt as never) },
  });
  return { ws, r, lines };
}

test('--dlr-spike warn: spike reported at the planted step, training goes on', async () => {
  const { ws, r, lines } = await run('warn');
  try {
    assert.equal(r.spikes.length, 1);
    assert.equal(r.spikes[0].step, K);
    assert.equal(r.spikes[0].cutoff, K - 1);
    assert.equal(r.cutoff, K - 1);
    assert.equal(r.globalStep, 12);
    assert.ok(lines.some((l) => l.includes(`d*lr spike at step ${K}`) && l.includes(`Cut-off: step ${K - 1}`)));
    const dlr = readScalars(r.logDir).scalars.filter((s) => s.tag === 'lr/d*lr');
    assert.ok(dlr[K - 1].value > 5 * dlr[K - 2].value, 'the spike is in TensorBoard at its step');
  } finally {
    ws.cleanup();
  }
});

test('--dlr-spike stop: saves adapter and state at the spike and ends', async () => {
  const { ws, r } = await run('stop');
  try {
    assert.equal(r.stopped, 'spike');
    assert.equal(r.globalStep, K);
    assert.equal(r.finalFile, undefined);
    const last = r.saves[r.saves.length - 1];
    assert.equal(last.step, K);
    assert.ok(existsSync(last.file) && last.stateDir && existsSync(last.stateDir));
    assert.equal(r.cutoff, K - 1);
  } finally {
    ws.cleanup();
  }
});

test('--dlr-spike rollback: back to the save at step 3 (epoch 1), trained on to the cut-off 5 with T_max 5', async () => {
  const { ws, r, lines } = await run('rollback', 3);
  try {
    assert.equal(r.rolledBackTo, 3);
    assert.equal(r.globalStep, K - 1);
    assert.equal(r.plannedSteps, K - 1);
    assert.ok(lines.some((l) => l.includes('Rolling back to the save at step 3')));
    const f = torch.safetensors.load(r.finalFile as string);
    try {
      assert.equal(f.metadata.ss_steps, String(K - 1));
      assert.equal(f.metadata.ss_max_train_steps, String(K - 1));
    } finally {
      f.dispose();
    }
    // T_max = 5 from the start: after step 5 the lr is 0 (a fresh cosine over 5 steps).
    const lr = readScalars(r.logDir).scalars.filter((s) => s.tag === 'lr/unet');
    const last = lr[lr.length - 1];
    assert.equal(last.step, K - 1);
    assert.ok(Math.abs(last.value) < 1e-6, `lr at the cut-off ${last.value}`);
  } finally {
    ws.cleanup();
  }
});
