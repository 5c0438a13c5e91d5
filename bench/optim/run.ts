// One Prodigy step over the parameters of the guide's LoKr network on SD1.5 (700 tensors, 1.25 M
// values): lyco grouped (_foreach) dispatch vs per-tensor dispatch vs a Python torch Prodigy
// (bench/optim/prodigy_ref.py, upstream's per-tensor ops and .item() calls) on the same shapes.
// Run: node --import tsx bench/optim/run.ts [steps]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Prodigy } from '../../src/optim/prodigy.ts';
import { getNumThreads, info, manualSeed, randn, randnLike, scope, setNumThreads, type Tensor, zeros } from '../../src/torch/index.ts';
import { type LokrParam, sd15LokrParams } from './lokr-shapes.ts';

const STEPS = Number(process.argv[2] ?? 30);
const WARMUP = 3;
const { unet, textEncoder } = sd15LokrParams();

function makeGroup(list: LokrParam[]): { params: Tensor[]; targets: Tensor[] } {
  const params = list.map((p) => (p.zero ? zeros(p.shape) : randn(p.shape).mul(0.1)).keep());
  return { params, targets: params.map((p) => randnLike(p).mul(0.1).keep()) };
}

// Gradient of 0.5·|p - target|², so d settles as in training (constant gradients make it explode).
function setGrads(params: Tensor[], targets: Tensor[]): void {
  scope(() => {
    params.forEach((p, i) => {
      p.grad = p.sub(targets[i]);
    });
  });
}

function timeLyco(foreach: boolean): { ms: number; d: number } {
  manualSeed(0);
  const te = makeGroup(textEncoder);
  const un = makeGroup(unet);
  const params = [...te.params, ...un.params];
  const targets = [...te.targets, ...un.targets];
  // the guide's LoKr optimizer_args, text encoder and U-Net groups at lr 1.0
  const opt = new Prodigy([{ params: te.params }, { params: un.params }], {
    dCoef: 1.0,
    weightDecay: 0.05,
    safeguardWarmup: false,
    useBiasCorrection: false,
    foreach,
  });
  const times: number[] = [];
  for (let i = 0; i < WARMUP + STEPS; i++) {
    setGrads(params, targets);
    const t0 = performance.now();
    opt.step();
    if (i >= WARMUP) times.push(performance.now() - t0);
  }
  const d = opt.logs().d as number;
  opt.dispose();
  for (const p of [...params, ...targets]) p.dispose();
  return { ms: median(times), d };
}

// Median, not mean: shared CI machines stall single steps by 10x.
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timePython(threads: number): { ms_per_step: number; torch: string } | string {
  const dir = mkdtempSync(join(tmpdir(), 'lyco-bench-'));
  try {
    const spec = {
      threads,
      warmup: WARMUP,
      steps: STEPS,
      groups: [textEncoder, unet].map((l) => ({ shapes: l.map((p) => p.shape), zero: l.map((p) => p.zero) })),
    };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    const script = join(dirname(fileURLToPath(import.meta.url)), 'prodigy_ref.py');
    return JSON.parse(execFileSync('/usr/bin/python3', [script, join(dir, 'spec.json')], { encoding: 'utf8' }));
  } catch (e) {
    return `python reference not run: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const n = unet.length + textEncoder.length;
const values = [...unet, ...textEncoder].reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
// One thread, as the golden data was made: the step is dispatch-bound, and threads add noise.
setNumThreads(Number(process.env.LYCO_BENCH_THREADS ?? 1));
const threads = getNumThreads();
console.log(
  `Prodigy step, LoKr (dim 1024/conv 512, factor -1) on SD1.5: ${n} tensors, ${values} values, float32 CPU, ${threads} threads, libtorch ${info().torchVersion}`,
);
const grouped = timeLyco(true);
const perTensor = timeLyco(false);
const py = timePython(threads);
console.log(`lyco grouped (_foreach)  ${grouped.ms.toFixed(2)} ms/step   (d after: ${grouped.d.toExponential(3)})`);
console.log(
  `lyco per-tensor          ${perTensor.ms.toFixed(2)} ms/step   per-tensor / grouped = ${(perTensor.ms / grouped.ms).toFixed(2)}x`,
);
if (typeof py === 'string') console.log(py);
else {
  console.log(`python torch ${py.torch} (upstream-style per-tensor) ${py.ms_per_step.toFixed(2)} ms/step`);
  console.log(
    `python / lyco grouped = ${(py.ms_per_step / grouped.ms).toFixed(2)}x   python / lyco per-tensor = ${(py.ms_per_step / perTensor.ms).toFixed(2)}x`,
  );
}
