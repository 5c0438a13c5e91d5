// bench/train: seconds per optimizer step of the guide's iA3 and LoKr presets (as written:
// Prodigy, gradient checkpointing, min-SNR, multires noise, text encoder trained) on the tiny
// SD-architecture model of test/train, with the peak RSS of each run (one child process per
// preset, so the peaks are separate). Prints only.
//   node --import tsx bench/train/run.ts [--steps N] [--threads N]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string' },
    steps: { type: 'string', default: '30' },
    threads: { type: 'string' },
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

if (args.preset) {
  await one(args.preset as 'ia3' | 'lokr', Number(args.steps));
} else {
  const self = fileURLToPath(import.meta.url);
  console.log('lyco train bench: guide presets on the tiny model (UNet 16/32, CLIP 2x32, 32x32 images → 8x8 latents, batch 1)');
  for (const preset of ['ia3', 'lokr']) {
    const extra = args.threads ? ['--threads', args.threads] : [];
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--preset', preset, '--steps', String(args.steps), ...extra], {
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').pop() as string);
    console.log(
      `${preset.padEnd(5)} ${r.secondsPerStep.toFixed(4)} s/step over ${r.steps} steps (run ${r.totalSeconds} s incl. setup), peak RSS ${r.peakRssMiB} MiB, ${r.threads} threads`,
    );
  }
}
