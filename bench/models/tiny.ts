// One forward+backward of the tiny SD1.5 UNet (golden sd15_tiny config, batch 2, 16x16 latents),
// plain and with gradient checkpointing: median wall time and the process's peak RSS. Prints only.
// Run alone: node --import tsx bench/models/tiny.ts (bench/models/run.ts runs it after the full-size step).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { CheckpointTape } from '../../src/nn/checkpoint.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenRoot } from '../../test/helpers/golden.ts';

const root = goldenRoot();
if (!root) {
  console.log('golden data not found (set LYCO_GOLDEN); nothing to time');
  process.exit(0);
}
const dir = join(root, 'models', 'unet', 'sd15_tiny');
const unet = new UNet2DConditionModel(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
unet.loadStateDict(torch.safetensors.load(join(dir, 'weights.safetensors')), { strict: true });
const io = torch.safetensors.load(join(dir, 'io.safetensors'));

function step(checkpointing: boolean): number {
  unet.gradientCheckpointing = checkpointing;
  return torch.scope(() => {
    const t0 = performance.now();
    const tape = new CheckpointTape();
    const loss = tape.record(() =>
      torch.F.mseLoss(
        unet.forward(io.get('in.sample')!, io.get('in.timesteps')!, io.get('in.encoder_hidden_states')!),
        io.get('loss.target')!,
      ),
    );
    tape.backward(loss);
    for (const p of unet.parameters()) p.grad = undefined;
    return performance.now() - t0;
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`sd15_tiny forward+backward, batch 2, 16x16 latents, ${torch.getNumThreads()} threads`);
for (const ckpt of [false, true]) {
  step(ckpt); // warm-up
  const times = Array.from({ length: 5 }, () => step(ckpt));
  console.log(`  ${ckpt ? 'checkpointed' : 'plain       '}: median ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)})`);
}
console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
