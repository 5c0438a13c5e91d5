// bench/models: a full-size SD1.5-layout UNet (random weights, real config) forward+backward at
// 32x32 latents, batch 1, frozen weights, gradient to the input, in lyco and in Python torch 1.13
// running sd-scripts' UNet (library/original_unet.py), side by side; then the tiny-model bench.
// Each side runs in its own process, so peak RSS (maxRSS) is that step's alone. lyco runs twice:
// with the frozen weights in fp16 as checkpoints ship them (computed in float32: the numbers of
// float32 weights, see src/nn/frozen.ts), which is how lyco holds an fp16 checkpoint, and with
// float32 weights as Python holds them.
//   SD_SCRIPTS_DIR=/path/to/sd-scripts node --import tsx bench/models/run.ts
// SD_SCRIPTS_DIR: a checkout holding library/original_unet.py, or a git directory (bare/mirror)
// whose HEAD has it. Nothing of it is kept: the file is copied to a temp folder next to
// placeholder modules for what it imports but does not use here (library.utils' logging setup,
// einops when not installed). Env: LYCO_THREADS (2), BENCH_REPS (3), BENCH_ROUNDS (1).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const threads = process.env.LYCO_THREADS ?? '2';
const reps = process.env.BENCH_REPS ?? '3';
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const PYTHON = '/usr/bin/python3';
// Issue 3's figures for the Python step on this machine class, shown when no Python run is possible.
// "4.3 GB" read as GiB: this machine's Python run peaks at ~4310 MiB.
const RECORDED = { medianS: 10.6, peakRssMiB: 4.3 * 1024 };

interface StepResult {
  side: string;
  times: number[];
  /** CPU seconds per step, all threads (less swayed than wall time by other load). */
  cpuTimes: number[];
  medianS: number;
  peakRssMiB: number;
  rssAfterBuildMiB: number;
  gradAbsMean: number;
}

function lastJson(out: string): StepResult {
  const line = out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`no result line in:\n${out}`);
  return JSON.parse(line);
}

/** A temp folder importable as sd-scripts' `library` for original_unet.py, or a reason why not. */
function sdScriptsSource(): { dir: string } | { why: string } {
  const src = process.env.SD_SCRIPTS_DIR;
  if (!src) return { why: 'SD_SCRIPTS_DIR not set' };
  const dir = mkdtempSync(join(tmpdir(), 'lyco-bench-sd-scripts-'));
  mkdirSync(join(dir, 'library'));
  const target = join(dir, 'library', 'original_unet.py');
  const file = join(src, 'library', 'original_unet.py');
  if (existsSync(file)) copyFileSync(file, target);
  else {
    try {
      writeFileSync(target, execFileSync('git', ['--git-dir', src, 'show', 'HEAD:library/original_unet.py']));
    } catch {
      rmSync(dir, { recursive: true, force: true });
      return { why: `${src}: no library/original_unet.py (neither a checkout nor a git directory holding it)` };
    }
  }
  writeFileSync(join(dir, 'library', '__init__.py'), '');
  // original_unet.py only calls setup_logging from library.utils (which pulls diffusers, cv2, torchvision).
  writeFileSync(join(dir, 'library', 'utils.py'), 'def setup_logging(*args, **kwargs):\n    pass\n');
  // einops.rearrange is used by the xformers/mem-eff/SDPA paths only, none of which run here.
  if (spawnSync(PYTHON, ['-c', 'import einops']).status !== 0) {
    mkdirSync(join(dir, 'einops'));
    writeFileSync(
      join(dir, 'einops', '__init__.py'),
      'def rearrange(*args, **kwargs):\n    raise NotImplementedError("placeholder einops (bench/models)")\n',
    );
  }
  return { dir };
}

function runLyco(weights: 'fp16' | 'fp32'): StepResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'sd15-step.ts')], {
    encoding: 'utf8',
    env: { ...process.env, LYCO_THREADS: threads, BENCH_REPS: reps, BENCH_WEIGHTS: weights },
  });
  if (r.status !== 0) throw new Error(`lyco step failed:\n${r.stderr}`);
  return lastJson(r.stdout);
}

/**
 * Python as users run it, or (tuned) with the process settings lyco applies to itself: passive
 * OpenMP workers (src/torch/native.ts) and glibc keeping large blocks (native/src/malloc.cc).
 */
function runPython(dir: string, tuned: boolean): StepResult {
  const env: NodeJS.ProcessEnv = tuned
    ? { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', MALLOC_MMAP_THRESHOLD_: String(2 ** 30), MALLOC_TRIM_THRESHOLD_: String(2 ** 31 - 1) }
    : { ...process.env };
  if (!tuned) for (const k of ['OMP_WAIT_POLICY', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']) delete env[k];
  const r = spawnSync(PYTHON, [join(here, 'sd15_step.py'), dir, threads, reps], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`python step failed:\n${r.stderr}`);
  return lastJson(r.stdout);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (r: { times: number[]; cpuTimes: number[]; peakRssMiB: number; rssAfterBuildMiB?: number }) =>
  `median ${median(r.times).toFixed(2)} s (min ${Math.min(...r.times).toFixed(2)}, ${r.times.length} steps; CPU ${median(r.cpuTimes).toFixed(2)} s)  peak RSS ${r.peakRssMiB.toFixed(0)} MiB` +
  (r.rssAfterBuildMiB ? ` (${r.rssAfterBuildMiB.toFixed(0)} after building)` : '');

console.log(`SD1.5 UNet forward+backward, 32x32 latents, batch 1, frozen weights, grad to input, ${threads} threads`);
const source = existsSync(PYTHON) ? sdScriptsSource() : { why: `${PYTHON} not found` };
const lyco: StepResult[] = [];
const lyco32: StepResult[] = [];
const py: StepResult[] = [];
const pyTuned: StepResult[] = [];
try {
  // Alternate the sides so a busy machine weighs on all alike.
  for (let i = 0; i < rounds; i++) {
    lyco.push(runLyco('fp16'));
    if ('dir' in source) py.push(runPython(source.dir, false));
    lyco32.push(runLyco('fp32'));
    if ('dir' in source) pyTuned.push(runPython(source.dir, true));
  }
} finally {
  if ('dir' in source) rmSync(source.dir, { recursive: true, force: true });
}
const merge = (rs: StepResult[]) => ({
  times: rs.flatMap((r) => r.times),
  cpuTimes: rs.flatMap((r) => r.cpuTimes),
  peakRssMiB: Math.max(...rs.map((r) => r.peakRssMiB)),
  rssAfterBuildMiB: Math.max(...rs.map((r) => r.rssAfterBuildMiB)),
});
const l = merge(lyco);
const l32 = merge(lyco32);
console.log(`  lyco, fp16 weights      ${fmt(l)}`);
console.log(`  lyco, float32 weights   ${fmt(l32)}`);
let ref: { medianS: number; peakRssMiB: number; cpuS?: number };
let tunedRef: typeof ref | undefined;
if (py.length) {
  const p = merge(py);
  const pt = merge(pyTuned);
  console.log(`  python (sd-scripts)     ${fmt(p)}`);
  console.log(`  python, lyco's settings ${fmt(pt)}`);
  ref = { medianS: median(p.times), peakRssMiB: p.peakRssMiB, cpuS: median(p.cpuTimes) };
  tunedRef = { medianS: median(pt.times), peakRssMiB: pt.peakRssMiB, cpuS: median(pt.cpuTimes) };
} else {
  console.log(`  python: not run (${'why' in source ? source.why : ''})`);
  console.log(`  python RECORDED in issue 3 (not measured now): median ${RECORDED.medianS} s, peak RSS 4.3 GB`);
  ref = RECORDED;
}
for (const [label, r] of [
  ['fp16 weights', l],
  ['float32 weights', l32],
] as const) {
  const tr = median(r.times) / ref.medianS;
  const mr = r.peakRssMiB / ref.peakRssMiB;
  const cr = ref.cpuS ? ` (CPU ${(median(r.cpuTimes) / ref.cpuS).toFixed(2)}x)` : '';
  console.log(
    `  lyco/python, ${label.padEnd(16)}time ${tr.toFixed(2)}x${cr} (goal <= 0.9x: ${tr <= 0.9 ? 'met' : 'not met'})  peak RSS ${mr.toFixed(2)}x (goal <= 0.8x: ${mr <= 0.8 ? 'met' : 'not met'})`,
  );
}
if (tunedRef) {
  const t = tunedRef;
  const row = (label: string, r: typeof l) =>
    `  vs python with lyco's settings (OMP_WAIT_POLICY=PASSIVE, malloc), ${label}: time ${(median(r.times) / t.medianS).toFixed(2)}x, peak RSS ${(r.peakRssMiB / t.peakRssMiB).toFixed(2)}x`;
  console.log(row('fp16 weights', l));
  console.log(row('float32 weights', l32));
}
console.log(
  `  weights alone: ${((859_520_964 * 4) / 2 ** 20).toFixed(0)} MiB float32 (python), ${((859_520_964 * 2) / 2 ** 20).toFixed(0)} MiB fp16`,
);
console.log('');
const tiny = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'tiny.ts')], { encoding: 'utf8', env: process.env });
process.stdout.write(tiny.stdout + tiny.stderr);
