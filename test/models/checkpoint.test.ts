// Gradient checkpointing (nn/checkpoint.ts) on the tiny SD1.5 UNet: the same gradients as plain
// autograd (float64, so only the replay could differ), and a lower peak memory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { CheckpointTape } from '../../src/nn/checkpoint.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';
import { diff } from './compare.ts';

function grads(unet: UNet2DConditionModel, checkpointing: boolean, io: Map<string, Tensor>): Map<string, Tensor> {
  unet.gradientCheckpointing = checkpointing;
  for (const p of unet.parameters()) p.grad = undefined;
  return torch.scope(() => {
    const sample = io.get('in.sample')!.double().requiresGrad_(true);
    const ctx = io.get('in.encoder_hidden_states')!.double().requiresGrad_(true);
    const tape = new CheckpointTape();
    const loss = tape.record(() => torch.F.mseLoss(unet.forward(sample, io.get('in.timesteps')!, ctx), io.get('loss.target')!.double()));
    if (checkpointing) assert.equal(tape.size, unet.down_blocks.length + 1 + unet.up_blocks.length);
    tape.backward(loss);
    const out = new Map<string, Tensor>([
      ['in.sample', sample.grad!],
      ['in.ctx', ctx.grad!],
    ]);
    for (const [n, p] of unet.namedParameters()) out.set(n, p.grad!);
    return out;
  });
}

test('checkpointed UNet gives the gradients of plain autograd (float64)', (t) => {
  const dir = goldenDir(t, 'models/unet/sd15_tiny');
  if (!dir) return;
  const unet = new UNet2DConditionModel(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  unet.loadStateDict(torch.safetensors.load(join(dir, 'weights.safetensors')), { strict: true });
  unet.to({ dtype: 'float64' });
  const io = torch.safetensors.load(join(dir, 'io.safetensors'));
  torch.scope(() => {
    const plain = grads(unet, false, io);
    const ckpt = grads(unet, true, io);
    let worst = 0;
    for (const [name, g] of plain) {
      const c = ckpt.get(name);
      assert.ok(c, `${name} has a gradient with checkpointing`);
      const d = diff(c, g);
      worst = Math.max(worst, d.rel);
      assert.ok(d.maxAbs <= 1e-10 * d.refMax + 1e-300, `${name}: rel ${d.rel}`);
    }
    t.diagnostic(`${plain.size} gradients, worst max|a-b|/max|b| = ${worst.toExponential(2)}`);
  });
  unet.dispose();
});

test('checkpointing lowers the peak memory of a UNet forward+backward', (t) => {
  const dir = goldenDir(t, 'models/unet/sd15_tiny');
  if (!dir) return;
  const script = fileURLToPath(new URL('./checkpoint-peak.ts', import.meta.url));
  const run = (mode: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, dir, mode], {
      encoding: 'utf8',
      env: {
        ...process.env,
        LYCO_NUM_THREADS: '1',
        OPENBLAS_NUM_THREADS: '1',
        MALLOC_ARENA_MAX: '1',
        LYCO_MALLOC: 'system', // let these glibc settings stand (lyco's own keep blocks on the heap)
        MALLOC_MMAP_THRESHOLD_: '65536',
        MALLOC_TRIM_THRESHOLD_: '0',
      },
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { baseKiB: number; peakKiB: number; liveAfterForward: number };
  };
  // Allocations above 64 KiB are mmap'd and given back at free, so peak RSS follows the peak of
  // live bytes instead of the allocator's fragmentation (which made the figure wander by 20%).
  const plain = run('plain');
  const ckpt = run('checkpoint');
  const plainMiB = (plain.peakKiB - plain.baseKiB) / 1024;
  const ckptMiB = (ckpt.peakKiB - ckpt.baseKiB) / 1024;
  t.diagnostic(
    `peak RSS above the loaded model: plain ${plainMiB.toFixed(1)} MiB, checkpointed ${ckptMiB.toFixed(1)} MiB; live handles after forward ${plain.liveAfterForward} vs ${ckpt.liveAfterForward}`,
  );
  assert.ok(ckptMiB < 0.75 * plainMiB, `checkpointed peak ${ckptMiB} MiB is not clearly below plain ${plainMiB} MiB`);
});
