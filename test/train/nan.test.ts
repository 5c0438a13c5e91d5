// A NaN loss stops the run with one line naming the step; the saves made before it stay.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NonFiniteLossError } from '../../src/train/faults.ts';
import { train } from '../../src/train/trainer.ts';
import { tinyArgs, workspace } from './harness.ts';

test('NaN loss at step 4: stops naming the step, the step-3 save is kept, nothing after it written', async () => {
  const ws = await workspace('lokr');
  try {
    await assert.rejects(
      train({
        config: ws.config,
        model: ws.model,
        data: ws.data,
        output: ws.out('out'),
        argv: tinyArgs('--max_train_epochs', '3', '--save_every_n_steps', '1', '--save_state', 'true'),
        progress: false,
        log: () => {},
        hooks: { lossValue: (step, loss) => (step === 4 ? Number.NaN : loss) },
      }),
      (e: unknown) => {
        assert.ok(e instanceof NonFiniteLossError);
        assert.equal(e.step, 4);
        assert.match(
          e.message,
          /^loss is NaN at step 4 \(epoch 2\): training stopped, nothing saved after step 3; last good save: .*at-step00000003\.safetensors/,
        );
        return true;
      },
    );
    const out = ws.out('out');
    assert.ok(existsSync(join(out, 'at-step00000003.safetensors')));
    assert.ok(existsSync(join(out, 'at-step00000003-state', 'train_state.json')));
    assert.ok(!existsSync(join(out, 'at-step00000004.safetensors')));
    assert.ok(!existsSync(join(out, 'last.safetensors')));
  } finally {
    ws.cleanup();
  }
});
