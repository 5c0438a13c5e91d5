// Child process of bench/models/run.ts: one full-size SD1.5-layout UNet (random weights, real
// config) forward+backward at 32x32 latents, batch 1, frozen weights, gradient to the input.
// Prints one JSON line: build/step seconds and peak RSS. Own process so maxRSS is this step's.
//   LYCO_THREADS=2 BENCH_REPS=3 node --import tsx bench/models/sd15-step.ts
import { convert } from '../../src/models/index.ts';
import { attentionSettings, UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { CheckpointTape } from '../../src/nn/checkpoint.ts';
import * as torch from '../../src/torch/index.ts';

const threads = Number(process.env.LYCO_THREADS ?? 2);
const reps = Number(process.env.BENCH_REPS ?? 3);
const checkpointing = process.env.BENCH_CHECKPOINTING === '1';
attentionSettings.sliceSize = Number(process.env.BENCH_ATTN_SLICE ?? 0);
torch.setNumThreads(threads);
torch.manualSeed(0);

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const t0 = performance.now();
const unet = new UNet2DConditionModel(convert.unetConfig('sd1'));
unet.requiresGrad_(false);
unet.gradientCheckpointing = checkpointing;
const buildS = (performance.now() - t0) / 1000;
const rssAfterBuild = rssMiB();

const x = torch.randn([1, 4, 32, 32]).keep();
const ctx = torch.randn([1, 77, 768]).keep();
const t = torch.tensor([500], { dtype: 'int64' }).keep();

// CPU seconds (all threads) next to wall time: less swayed by other processes on a shared machine.
function step(): { seconds: number; cpuSeconds: number; gradAbs: number } {
  return torch.scope(() => {
    const start = performance.now();
    const cpu = process.cpuUsage();
    const input = x.detach().requiresGrad_();
    const tape = new CheckpointTape();
    const loss = tape.record(() => unet.forward(input, t, ctx).square().mean());
    tape.backward(loss);
    const gradAbs = (input.grad as torch.Tensor).abs().mean().item();
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6, gradAbs };
  });
}

const warm = step();
const times: number[] = [];
const cpuTimes: number[] = [];
for (let i = 0; i < reps; i++) {
  const r = step();
  times.push(r.seconds);
  cpuTimes.push(r.cpuSeconds);
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  JSON.stringify({
    side: 'lyco',
    threads: torch.getNumThreads(),
    params: unet.numParameters(),
    buildS,
    warmS: warm.seconds,
    times,
    cpuTimes,
    medianS: sorted[Math.floor(sorted.length / 2)],
    gradAbsMean: warm.gradAbs,
    rssAfterBuildMiB: rssAfterBuild,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
