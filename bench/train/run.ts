// bench/train: seconds per optimizer step of the guide's iA3 and LoKr presets (as written:
// Prodigy, gradient checkpointing, min-SNR, multires noise) with the peak RSS of each run (one
// child process per preset and section, so the peaks are separate). Prints only.
// - tiny: the whole `lyco train` loop on test/train's tiny SD model (text encoder trained);
// - sd15: a full-size SD1.5-layout UNet at 32x32 latents, batch 1 (sd15-unet.ts), each preset
//   followed by the same step in Python torch (sd15_step.py: sd-scripts' UNet and training step,
//   LyCORIS's lycoris.kohya network, prodigyopt's Prodigy, on /usr/bin/python3's torch), run as
//   users run it and with the process settings lyco applies to itself, with lyco/python ratios.
//   node --import tsx bench/train/run.ts [--section tiny|sd15] [--steps N] [--sd15-steps N] [--threads N]
// The Python side imports upstream code from the git mirrors (or checkouts) named by SD_SCRIPTS_DIR,
// LYCORIS_DIR and PRODIGY_DIR, copied to a temp folder at run time (see sd15_step.py; refs:
// SD_SCRIPTS_REF, LYCORIS_REF, PRODIGY_REF); without them it prints why it did not run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string' },
    section: { type: 'string' },
    steps: { type: 'string', default: '30' },
    'sd15-steps': { type: 'string', default: '4' },
    threads: { type: 'string' },
    // sd15: frozen UNet weights in fp16 (as lyco holds an fp16 checkpoint) or float32.
    weights: { type: 'string', default: 'fp16' },
  },
});

async function one(preset: 'ia3' | 'lokr', steps: number): Promise<void> {
  const { torch } = await import('../../src/index.ts');
  const { train } = await import('../../src/train/trainer.ts');
  // The test harness sets one intra-op thread; --threads overrides it.
  const { tinyArgs, workspace } = await import('../../test/train/harness.ts');
  if (args.threads) torch.setNumThreads(Number(args.threads));
  const ws = await workspace(preset, { images: 3 });
  const stamps: number[] = [];
  const t0 = performance.now();
  try {
    await train({
      config: ws.config,
      model: ws.model,
      data: ws.data,
      output: ws.out('out'),
      argv: tinyArgs('--max_train_steps', String(steps), '--max_train_epochs', String(Math.ceil(steps / 3))),
      progress: false,
      log: () => {},
      hooks: { afterOptimizerStep: () => stamps.push(performance.now()) },
    });
  } finally {
    ws.cleanup();
  }
  const warm = stamps.slice(2); // the first steps pay for lazy init
  const perStep = (warm[warm.length - 1] - warm[0]) / (warm.length - 1) / 1000;
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify({
      preset,
      steps: stamps.length,
      secondsPerStep: Number(perStep.toFixed(4)),
      totalSeconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
      peakRssMiB: Number(rss.toFixed(0)),
      threads: torch.getNumThreads(),
    }),
  );
}

async function sd15(preset: 'ia3' | 'lokr', steps: number): Promise<void> {
  const { torch } = await import('../../src/index.ts');
  const { benchSd15Unet } = await import('./sd15-unet.ts');
  if (args.threads) torch.setNumThreads(Number(args.threads));
  console.log(JSON.stringify(benchSd15Unet(preset, steps, args.weights === 'fp32' ? 'fp32' : 'fp16')));
}

/** Runs this file for one preset and section in a child process; returns its JSON line. */
function child(section: string, preset: string): Record<string, number | string | boolean> {
  const self = fileURLToPath(import.meta.url);
  const extra = [...(args.threads ? ['--threads', args.threads] : []), '--weights', args.weights as string];
  const steps = section === 'sd15' ? (args['sd15-steps'] as string) : (args.steps as string);
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', self, '--section', section, '--preset', preset, '--steps', steps, ...extra],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(out.trim().split('\n').pop() as string);
}

const PYTHON = '/usr/bin/python3';
type Figure = Record<string, number | string | boolean | null>;

/**
 * sd15_step.py for one preset: as users run Python, or (tuned) with the process settings lyco
 * applies to itself: passive OpenMP workers (src/torch/native.ts) and glibc keeping large blocks
 * (native/src/malloc.cc). Returns its JSON line, or why it did not run.
 */
function python(preset: string, steps: string, threads: string, tuned: boolean): Figure | { why: string } {
  if (!existsSync(PYTHON)) return { why: `${PYTHON} not found` };
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['OMP_WAIT_POLICY', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']) delete env[k];
  if (tuned)
    Object.assign(env, {
      OMP_WAIT_POLICY: 'PASSIVE',
      MALLOC_MMAP_THRESHOLD_: String(2 ** 30),
      MALLOC_TRIM_THRESHOLD_: String(2 ** 31 - 1),
    });
  const script = join(dirname(fileURLToPath(import.meta.url)), 'sd15_step.py');
  const r = spawnSync(PYTHON, [script, preset, steps, threads], { encoding: 'utf8', env, maxBuffer: 64 * 2 ** 20 });
  const lines = (r.stdout ?? '').trim().split('\n');
  const notRun = lines.find((l) => l.startsWith('not run: '));
  if (notRun) return { why: notRun.slice('not run: '.length) };
  const json = lines.filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !json) {
    const tail = `${r.stderr ?? ''}`.trim().split('\n').slice(-6).join('\n    ');
    return { why: `failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}):\n    ${tail}` };
  }
  return JSON.parse(json);
}

const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');
const secs = (v: unknown, digits = 3) => (typeof v === 'number' ? `${v.toFixed(digits)} s` : 'n/a');

/** The Python reference of one preset beside lyco's figure `l`: plain and tuned, then ratios. */
function pythonBeside(preset: string, l: Figure, printedVersions: { done: boolean }): void {
  const steps = args['sd15-steps'] as string;
  const threads = args.threads ?? String(l.threads);
  const runs: [string, Figure | { why: string }][] = [
    ['python (sd-scripts)     ', python(preset, steps, threads, false)],
    ["python, lyco's settings ", python(preset, steps, threads, true)],
  ];
  const pad = ' '.repeat(6);
  for (const [label, p] of runs) {
    if ('why' in p) {
      console.log(`${pad}${label}not run: ${p.why}`);
      continue;
    }
    if (!printedVersions.done) {
      console.log(`${pad}(python: torch ${p.torch}; sd-scripts ${p.sdScripts}; LyCORIS ${p.lycoris}; prodigyopt ${p.prodigy})`);
      printedVersions.done = true;
    }
    console.log(
      `${pad}${label}${secs(p.secondsPerStep)}/step (CPU ${secs(p.cpuSecondsPerStep, 1)}; first step ${secs(p.firstStepSeconds, 1)}; setup ${p.setupSeconds} s), ${p.modules} modules, ${p.trainedValues} values, loss finite ${p.lossFinite}, peak RSS ${p.peakRssMiB} MiB (${p.rssAfterBuildMiB} after building), ${p.threads} threads`,
    );
  }
  const [plain, tuned] = runs.map(([, p]) => ('why' in p ? undefined : p));
  const rows: string[] = [];
  if (plain) rows.push(`time ${ratio(l.secondsPerStep, plain.secondsPerStep)}, peak RSS ${ratio(l.peakRssMiB, plain.peakRssMiB)}`);
  if (tuned)
    rows.push(
      `vs python with lyco's settings: time ${ratio(l.secondsPerStep, tuned.secondsPerStep)}, peak RSS ${ratio(l.peakRssMiB, tuned.peakRssMiB)}`,
    );
  if (rows.length) console.log(`${pad}lyco/python ${rows.join('; ')}`);
  const p = plain ?? tuned;
  if (p) {
    const same = p.modules === l.modules && p.trainedValues === l.trainedValues;
    const dv = (p.trainedValues as number) - (l.trainedValues as number);
    const why =
      dv === p.modules && p.modules === l.modules
        ? ": one more per module in python, LyCORIS 1.8's trainable LoKr/LoHa `scalar` (lyco zero-inits w2 instead)"
        : '';
    console.log(
      same
        ? `${pad}network: the same size on both sides (${l.modules} modules, ${l.trainedValues} values)`
        : `${pad}network differs: lyco ${l.modules} modules / ${l.trainedValues} values, python ${p.modules} / ${p.trainedValues}${why}`,
    );
  }
}

if (args.preset) {
  const preset = args.preset as 'ia3' | 'lokr';
  if (args.section === 'sd15') await sd15(preset, Number(args.steps));
  else await one(preset, Number(args.steps));
} else {
  const sections = args.section ? [args.section] : ['tiny', 'sd15'];
  if (sections.includes('tiny')) {
    console.log('lyco train bench: guide presets on the tiny model (UNet 16/32, CLIP 2x32, 32x32 images → 8x8 latents, batch 1)');
    for (const preset of ['ia3', 'lokr']) {
      const r = child('tiny', preset);
      console.log(
        `${preset.padEnd(5)} ${(r.secondsPerStep as number).toFixed(4)} s/step over ${r.steps} steps (run ${r.totalSeconds} s incl. setup), peak RSS ${r.peakRssMiB} MiB, ${r.threads} threads`,
      );
    }
  }
  if (sections.includes('sd15')) {
    console.log(
      `SD1.5-layout UNet (860M random frozen weights, ${args.weights === 'fp32' ? 'float32' : 'fp16 computed in float32'}), 32x32 latents, batch 1, random [1, 77, 768] text states, UNet network only; python: float32 weights`,
    );
    const printedVersions = { done: false };
    for (const preset of ['ia3', 'lokr']) {
      const r = child('sd15', preset);
      console.log(
        `${preset.padEnd(5)} ${(r.secondsPerStep as number).toFixed(3)} s/step over ${r.steps} steps (first left out; setup ${r.setupSeconds} s), ${r.modules} modules, ${r.trainedValues} values, loss finite ${r.lossFinite}, peak RSS ${r.peakRssMiB} MiB, ${r.threads} threads`,
      );
      pythonBeside(preset, r, printedVersions);
    }
  }
}
