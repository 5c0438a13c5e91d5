// The whole CPU loop with fp16 dynamic loss scaling switched on (TrainOptions.lossScaling): a
// power-of-two scale leaves the adapter bit-identical to an unscaled run; planted non-finite
// gradients skip the optimizer and LR scheduler steps (the loss is finite, so the run goes on),
// halve the scale, and growth_interval good steps double it; the scale is logged as loss/scale;
// Ctrl-C + --resume restores the scale and its growth tracker, so the resumed run's scales and
// final adapter equal the uninterrupted run's byte for byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as torch from '../../src/torch/index.ts';
import type { TrainHooks } from '../../src/train/run.ts';
import { train } from '../../src/train/trainer.ts';
import { readScalars, tinyArgs, workspace } from './harness.ts';

process.env.SOURCE_DATE_EPOCH = '1700000000';

/** Steps whose gradients are planted non-finite (after backward, before unscale). */
const PLANTED: Record<number, number> = { 3: Number.POSITIVE_INFINITY, 6: Number.NaN };

test('loss scaling in the loop: overflow skips the step, the scale backs off and grows, resume is bit-identical', async () => {
  const ws = await workspace('lokr', { images: 3 });
  // Gradient accumulation 2 over 3 batches, four epochs: 8 optimizer steps.
  const argv = tinyArgs('--max_train_epochs', '4', '--gradient_accumulation_steps', '2');
  const base = { config: ws.config, model: ws.model, data: ws.data, argv, progress: false, log: () => {} };
  const lossScaling = { growthInterval: 2 };
  try {
    const plain = await train({ ...base, output: ws.out('plain') });
    const scaled = await train({ ...base, output: ws.out('scaled'), lossScaling: true });
    assert.equal(scaled.skippedSteps, 0);
    assert.ok(
      readFileSync(plain.finalFile as string).equals(readFileSync(scaled.finalFile as string)),
      'a 2**16 loss scale, unscaled exactly, trains the same adapter as no scaling',
    );

    const lrs: number[] = [];
    const values: number[][] = [];
    const losses: number[] = [];
    const hooks: TrainHooks = {
      beforeOptimizerStep: (step, params) => {
        if (step in PLANTED) torch.noGrad(() => (params[0].grad as torch.Tensor).mul_(PLANTED[step]));
      },
      afterOptimizerStep: (_step, opt) => {
        lrs.push(opt.paramGroups[0].lr);
        values.push(Array.from(opt.paramGroups[0].params[0].to('float32').data() as Float32Array));
      },
      lossValue: (_step, loss) => {
        losses.push(loss);
        return loss;
      },
    };
    const ref = await train({ ...base, output: ws.out('ref'), lossScaling, hooks });
    assert.equal(ref.globalStep, 8, 'finite losses: the NaN-loss stop does not fire for a gradient overflow');
    assert.ok(losses.every(Number.isFinite));
    assert.equal(ref.skippedSteps, 2);
    // The adapter did not move on the skipped steps (3 and 6), and did on the others.
    assert.deepEqual(values[2], values[1], 'step 3 skipped');
    assert.deepEqual(values[5], values[4], 'step 6 skipped');
    assert.notDeepEqual(values[3], values[2], 'step 4 trained');
    // The scheduler (CosineAnnealingLR) did not step either: the lr after a skipped step is the one before it.
    assert.equal(lrs[2], lrs[1]);
    assert.equal(lrs[5], lrs[4]);
    assert.notEqual(lrs[3], lrs[2]);
    const scale = (logDir: string) =>
      readScalars(logDir)
        .scalars.filter((s) => s.tag === 'loss/scale')
        .map((s) => [s.step, Math.log2(s.value)]);
    // The scale each step ran with: ×2 after two good steps, ×0.5 at each overflow.
    assert.deepEqual(scale(ref.logDir), [
      [1, 16],
      [2, 16],
      [3, 17],
      [4, 16],
      [5, 16],
      [6, 17],
      [7, 16],
      [8, 16],
    ]);

    const cut = await train({
      ...base,
      output: ws.out('cut'),
      lossScaling,
      handleSignals: true,
      hooks: { ...hooks, afterOptimizerStep: (step) => step === 5 && process.emit('SIGINT', 'SIGINT') },
    });
    assert.equal(cut.stopped, 'interrupt');
    assert.equal(cut.globalStep, 5);
    const state = JSON.parse(readFileSync(`${cut.saves[cut.saves.length - 1].stateDir}/train_state.json`, 'utf8'));
    assert.deepEqual(state.gradScaler, { scale: 2 ** 17, growthTracker: 0, skippedSteps: 1 }, 'the scaler is in the state');

    const resumed = await train({
      ...base,
      output: ws.out('cut'),
      lossScaling,
      hooks: { beforeOptimizerStep: hooks.beforeOptimizerStep },
      resume: ws.out('cut'),
    });
    assert.equal(resumed.globalStep, 8);
    assert.equal(resumed.skippedSteps, 2);
    assert.deepEqual(scale(resumed.logDir), scale(ref.logDir), 'the resumed run continues with the saved scale and growth tracker');
    assert.ok(readFileSync(ref.finalFile as string).equals(readFileSync(resumed.finalFile as string)), 'final adapter files differ');
  } finally {
    ws.cleanup();
  }
});
