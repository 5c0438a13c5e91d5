// Child process of bench/models/run.ts: one full-size SD1.5-layout UNet (random weights, real
// config) forward+backward at 32x32 latents, batch 1, frozen weights, gradient to the input.
// Prints one JSON line: build/step seconds and peak RSS. Own process so maxRSS is this step's.
//   LYCO_THREADS=2 BENCH_REPS=3 BENCH_WEIGHTS=fp16|fp32 node --import tsx bench/models/sd15-step.ts
// BENCH_PROFILE=FILE: a chrome trace of one step. BENCH_WEIGHT_SLICE_BYTES: fp16 weights are widened in slices of this size. BENCH_WEIGHTS=fp16: the frozen weights stored in fp16 as checkpoints ship them (computed in float32).
import { convert } from '../../src/models/index.ts';
import { attentionSettings, UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { CheckpointTape } from '../../src/nn/checkpoint.ts';
import { frozenSettings, storeFrozenWeights, withoutInit } from '../../src/nn/index.ts';
import * as torch from '../../src/torch/index.ts';

const threads = Number(process.env.LYCO_THREADS ?? 2);
const reps = Number(process.env.BENCH_REPS ?? 3);
const checkpointing = process.env.BENCH_CHECKPOINTING === '1';
attentionSettings.sliceSize = Number(process.env.BENCH_ATTN_SLICE ?? 0);
frozenSettings.sliceBytes = Number(process.env.BENCH_WEIGHT_SLICE_BYTES ?? 0);
torch.setNumThreads(threads);
torch.manualSeed(0);

/**
 * As an fp16 checkpoint loads: built in fp16 without an fp32 pass (withoutInit), then each
 * weight drawn in place from torch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)); norms 1 and 0.
 */
function fp16Unet(): UNet2DConditionModel {
  const u = withoutInit(() => new UNet2DConditionModel(convert.unetConfig('sd1')), { dtype: 'float16' });
  torch.noGrad(() => {
    for (const [name, p] of u.namedParameters()) {
      if (/norm/.test(name)) p.fill_(name.endsWith('weight') ? 1 : 0);
      else if (p.ndim === 1) p.uniform_(-0.02, 0.02);
      else {
        const bound = 1 / Math.sqrt(p.numel() / p.shape[0]);
        p.uniform_(-bound, bound);
      }
    }
  });
  return u;
}

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const t0 = performance.now();
const weights = process.env.BENCH_WEIGHTS === 'fp16' ? 'fp16' : 'fp32';
const unet = weights === 'fp16' ? fp16Unet() : new UNet2DConditionModel(convert.unetConfig('sd1'));
unet.requiresGrad_(false);
unet.gradientCheckpointing = checkpointing;
if (weights === 'fp16') storeFrozenWeights(unet, 'float16');
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
// BENCH_PROFILE=trace.json: one more step under libtorch's profiler (summarise: bench/models/profile-summary.ts).
if (process.env.BENCH_PROFILE) torch.profile(process.env.BENCH_PROFILE, step);
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
    weights,
    malloc: torch.info().malloc,
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
