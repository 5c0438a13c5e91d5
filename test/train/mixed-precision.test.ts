// mixed_precision on the CPU: bf16 autocasts (frozen UNet / text encoder weights in bf16, the
// adapter and its optimizer state in float32, samples too); fp16 says it needs CUDA and trains in float32.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { train } from '../../src/train/trainer.ts';
import { tinyArgs, workspace } from './harness.ts';

test('mixed_precision bf16 trains with float32 adapters; fp16 falls back with a line', async () => {
  const ws = await workspace('lokr');
  try {
    const dtypes = new Set<string>();
    const losses: number[] = [];
    const r = await train({
      config: ws.config,
      model: ws.model,
      data: ws.data,
      output: ws.out('bf16'),
      argv: tinyArgs(
        '--max_train_epochs',
        '1',
        '--mixed_precision',
        'bf16',
        '--sample_every_n_epochs',
        '1',
        '--sample_prompts',
        ws.prompts,
      ),
      progress: false,
      log: () => {},
      hooks: {
        afterOptimizerStep: (_s, opt) => {
          for (const p of opt.paramGroups.flatMap((g) => g.params)) dtypes.add(p.dtype);
        },
        lossValue: (_s, l) => {
          losses.push(l);
          return l;
        },
      },
    });
    assert.equal(r.globalStep, 3);
    assert.deepEqual([...dtypes], ['float32']);
    assert.ok(losses.every(Number.isFinite));
    assert.equal(r.samples.length, 1);

    const lines: string[] = [];
    await train({
      config: ws.config,
      model: ws.model,
      data: ws.data,
      output: ws.out('fp16'),
      argv: tinyArgs('--max_train_epochs', '1'),
      progress: false,
      log: (l) => lines.push(l),
    });
    assert.ok(lines.some((l) => l.startsWith('mixed_precision fp16: fp16 loss scaling needs CUDA')));
  } finally {
    ws.cleanup();
  }
});
