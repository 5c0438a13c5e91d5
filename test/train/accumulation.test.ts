// Gradient accumulation: the optimizer and the scheduler step once per accumulation (the last,
// partial one of an epoch is flushed), so T_max counts optimizer steps as sd-scripts does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { train } from '../../src/train/trainer.ts';
import { readScalars, tinyArgs, workspace } from './harness.ts';

test('gradient_accumulation_steps 2: scheduler stepped once per optimizer step, partial accumulation flushed', async () => {
  const ws = await workspace('ia3', { images: 5 });
  try {
    const lrs: number[] = [];
    let calls = 0;
    const r = await train({
      config: ws.config,
      model: ws.model,
      data: ws.data,
      output: ws.out('out'),
      argv: tinyArgs('--max_train_epochs', '2', '--gradient_accumulation_steps', '2'),
      progress: false,
      log: () => {},
      hooks: {
        afterOptimizerStep: (_step, opt) => {
          calls++;
          lrs.push(opt.paramGroups[0].lr);
        },
      },
    });
    // 5 batches per epoch → ceil(5 / 2) = 3 optimizer steps per epoch, 2 epochs.
    assert.equal(r.globalStep, 6);
    assert.equal(calls, 6);
    // T_max was set to the 6 planned steps: the lr after step g is ½(1 + cos(πg/6)), reaching 0 at the end.
    lrs.forEach((lr, i) => {
      const want = 0.5 * (1 + Math.cos((Math.PI * (i + 1)) / 6));
      assert.ok(Math.abs(lr - want) < 1e-12, `lr after step ${i + 1}: ${lr} vs ${want}`);
    });
    const logged = readScalars(r.logDir).scalars.filter((s) => s.tag === 'lr/unet');
    assert.deepEqual(
      logged.map((s) => s.step),
      [1, 2, 3, 4, 5, 6],
    );
    assert.ok(Math.abs(logged[2].value - 0.5) < 1e-6);
  } finally {
    ws.cleanup();
  }
});
