// mixed_precision on the CPU: bf16 autocasts (frozen UNet / text encoder weights in bf16, the
// adapter and its optimizer state in float32, samples too); fp16 computes in float32 without loss
// scaling and says so. On CUDA fp16 autocasts to float16 with loss scaling (precisionPlan).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { precisionPlan } from '../../src/train/setup-run.ts';
import { train } from '../../src/train/trainer.ts';
import { tinyArgs, workspace } from './harness.ts';

test('precisionPlan: fp16 autocasts with loss scaling on CUDA only; bf16 autocasts anywhere', () => {
  assert.deepEqual(precisionPlan('fp16', 'cuda'), { autocast: 'float16', device: 'cuda', lossScaling: true });
  assert.deepEqual(precisionPlan('fp16', 'cpu'), {
    device: 'cpu',
    lossScaling: false,
    message: 'mixed_precision fp16 on the CPU: frozen weights stored in fp16, computed in float32 (no loss scaling needed)',
  });
  assert.deepEqual(precisionPlan('bf16', 'cpu'), { autocast: 'bfloat16', device: 'cpu', lossScaling: false });
  assert.deepEqual(precisionPlan('bf16', 'cuda'), { autocast: 'bfloat16', device: 'cuda', lossScaling: false });
  assert.deepEqual(precisionPlan('no', 'cuda'), { device: 'cuda', lossScaling: false });
});

test('mixed_precision bf16 trains with float32 adapters; fp16 on the CPU says what it does', async () => {
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
    const fp16 = await train({
      config: ws.config,
      model: ws.model,
      data: ws.data,
      output: ws.out('fp16'),
      argv: tinyArgs('--max_train_epochs', '1'),
      progress: false,
      log: (l) => lines.push(l),
    });
    // The guide preset (kohya_ss GUI default) is fp16.
    assert.ok(
      lines.includes('mixed_precision fp16 on the CPU: frozen weights stored in fp16, computed in float32 (no loss scaling needed)'),
    );
    assert.equal(fp16.globalStep, 3);
    assert.equal(fp16.skippedSteps, undefined, 'no loss scaling on the CPU');
  } finally {
    ws.cleanup();
  }
});
