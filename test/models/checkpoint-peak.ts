// Child process for checkpoint.test.ts: one forward+backward of the tiny SD1.5 UNet at 24x24,
// plain or checkpointed; prints the process's peak RSS (a high-water mark, hence one per process).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { CheckpointTape } from '../../src/nn/checkpoint.ts';
import * as torch from '../../src/torch/index.ts';

const [dir, mode] = process.argv.slice(2);
torch.manualSeed(0);
const unet = new UNet2DConditionModel(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
unet.gradientCheckpointing = mode === 'checkpoint';
const before = process.resourceUsage().maxRSS;
let peakLive = 0;
torch.scope(() => {
  const x = torch.randn([4, 4, 24, 24]);
  const ctx = torch.randn([4, 77, 32]);
  const ts = torch.tensor([10n, 900n, 300n, 600n]);
  const tape = new CheckpointTape();
  const loss = tape.record(() => unet.forward(x, ts, ctx).square().mean());
  peakLive = torch.liveTensors();
  tape.backward(loss);
});
console.log(JSON.stringify({ mode, baseKiB: before, peakKiB: process.resourceUsage().maxRSS, liveAfterForward: peakLive }));
