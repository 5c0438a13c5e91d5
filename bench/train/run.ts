// bench/train: seconds per optimizer step of the guide's iA3 and LoKr presets (as written:
// Prodigy, gradient checkpointing, min-SNR, multires noise) with the peak RSS of each run (one
// child process per preset and section, so the peaks are separate). Prints only.
// - tiny: the whole `lyco train` loop on test/train's tiny SD model (text encoder trained);
// - sd15: a full-size SD1.5-layout UNet at 32x32 latents, batch 1 (sd15-unet.ts).
//   node --import tsx bench/train/run.ts [--section tiny|sd15] [--steps N] [--sd15-steps N] [--threads N]
import { execFileSync } from 'node:child_process';
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
      `SD1.5-layout UNet (860M random frozen weights, ${args.weights === 'fp32' ? 'float32' : 'fp16 computed in float32'}), 32x32 latents, batch 1, random [1, 77, 768] text states, UNet network only`,
    );
    for (const preset of ['ia3', 'lokr']) {
      const r = child('sd15', preset);
      console.log(
        `${preset.padEnd(5)} ${(r.secondsPerStep as number).toFixed(3)} s/step over ${r.steps} steps (first left out; setup ${r.setupSeconds} s), ${r.modules} modules, ${r.trainedValues} values, loss finite ${r.lossFinite}, peak RSS ${r.peakRssMiB} MiB, ${r.threads} threads`,
      );
    }
  }
}
