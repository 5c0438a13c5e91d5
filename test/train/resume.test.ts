// Ctrl-C saves adapter and state and ends the run; --resume continues it so that the final
// adapter equals the uninterrupted run's byte for byte (timestamps pinned by SOURCE_DATE_EPOCH).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { train } from '../../src/train/trainer.ts';
import { tinyArgs, workspace } from './harness.ts';

process.env.SOURCE_DATE_EPOCH = '1700000000';

for (const preset of ['lokr', 'ia3'] as const) {
  test(`${preset}: SIGINT at step 5, then --resume: final adapter identical to the uninterrupted run`, async () => {
    const ws = await workspace(preset, { images: 3 });
    // Gradient accumulation 2 over 3 batches, two epochs: the interrupt falls inside epoch 2.
    const argv = tinyArgs('--max_train_epochs', '4', '--gradient_accumulation_steps', '2', '--save_every_n_epochs', '2');
    const base = { config: ws.config, model: ws.model, data: ws.data, argv, progress: false, log: () => {} };
    try {
      const ref = await train({ ...base, output: ws.out('ref') });
      assert.equal(ref.globalStep, 8);

      const cut = await train({
        ...base,
        output: ws.out('cut'),
        handleSignals: true,
        hooks: { afterOptimizerStep: (step) => step === 5 && process.emit('SIGINT', 'SIGINT') },
      });
      assert.equal(cut.stopped, 'interrupt');
      assert.equal(cut.globalStep, 5);
      assert.equal(cut.finalFile, undefined);
      const last = cut.saves[cut.saves.length - 1];
      assert.ok(last.stateDir && existsSync(last.stateDir), 'state saved on interrupt');
      assert.ok(existsSync(last.file), 'adapter saved on interrupt');

      const resumed = await train({ ...base, output: ws.out('cut'), resume: ws.out('cut') });
      assert.equal(resumed.globalStep, 8);
      const a = readFileSync(ref.finalFile as string);
      const b = readFileSync(resumed.finalFile as string);
      assert.ok(a.equals(b), 'final adapter files differ');
      // The epoch-2 save made before the interrupt equals the reference's too.
      assert.ok(
        readFileSync(join(ws.out('ref'), 'epoch-000002.safetensors')).equals(readFileSync(join(ws.out('cut'), 'epoch-000002.safetensors'))),
      );
    } finally {
      ws.cleanup();
    }
  });
}

test('--resume refuses a state saved by a different run (seed, network, data, accumulation)', async () => {
  const ws = await workspace('ia3');
  const base = { config: ws.config, model: ws.model, data: ws.data, output: ws.out('o'), progress: false, log: () => {} };
  try {
    await train({ ...base, argv: tinyArgs('--max_train_epochs', '1', '--save_state', 'true') });
    await assert.rejects(
      train({ ...base, argv: tinyArgs('--max_train_epochs', '2', '--seed', '7'), resume: ws.out('o') }),
      /--resume .*last-state: the state was saved with seed 31337, this run has 7; resume with the same config and data/,
    );
  } finally {
    ws.cleanup();
  }
});

test('--resume from a finished run with more epochs continues after its last step', async () => {
  const ws = await workspace('ia3');
  const lines: string[] = [];
  const base = {
    config: ws.config,
    model: ws.model,
    data: ws.data,
    output: ws.out('o'),
    progress: false,
    log: (l: string) => lines.push(l),
  };
  try {
    const first = await train({ ...base, argv: tinyArgs('--max_train_epochs', '1', '--save_state', 'true') });
    assert.equal(first.globalStep, 3);
    const more = await train({ ...base, argv: tinyArgs('--max_train_epochs', '2'), resume: ws.out('o') });
    assert.ok(lines.some((l) => /resumed from .*last-state: step 3, epoch 2/.test(l)));
    assert.equal(more.globalStep, 6);
  } finally {
    ws.cleanup();
  }
});
