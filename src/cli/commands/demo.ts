// `lyco demo`: the README's main command. Trains the guide's preset on the bundled tiny model to
// teach it "purple" and shows the result (src/demo/run.ts). `--engine` runs the engine check
// (a tiny noise predictor trained with Prodigy) instead.
import type { Command } from 'commander';
import { type DemoPreset, FULL, passes, runDemo, THRESHOLD } from '../../demo/index.ts';
import * as torch from '../../torch/index.ts';
import { runEngineDemo } from '../../train/engine-demo.ts';

interface DemoCliOptions {
  preset: string;
  out: string;
  engine?: boolean;
  steps: string;
}

function engineCheck(o: DemoCliOptions): void {
  const r = runEngineDemo({ steps: Number(o.steps), outDir: o.out });
  console.log(
    `loss ${r.firstLoss.toFixed(4)} (first 20 steps) -> ${r.lastLoss.toFixed(4)} (last 20); Prodigy d*lr ${r.dLr.toExponential(3)}`,
  );
  console.log(`weights: ${r.weights}  (${r.seconds.toFixed(1)} s)`);
  if (!(r.lastLoss < r.firstLoss)) {
    console.error('lyco demo: the loss did not go down; the engine is not training correctly');
    process.exitCode = 1;
  }
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'engine check: a tiny noise predictor trained with Prodigy (seconds); --adapter: the adapter demo on the bundled tiny model',
    )
    .option('--adapter', 'teach the bundled tiny model "purple" with a guide preset; before/after samples, d*lr plot, metric')
    .option('--preset <name>', 'guide preset for --adapter: ia3 or lokr', 'ia3')
    .option('--out <dir>', 'output folder', 'out/demo')
    .option('--steps <n>', 'optimizer steps of the engine check', '300')
    .action(async (o: DemoCliOptions) => {
      const i = torch.info();
      console.log(`lyco demo: libtorch ${i.torchVersion}, ${i.threads} threads, BLAS ${i.blas}${i.cuda ? ', CUDA' : ''}`);
      if (o.engine) return engineCheck(o);
      if (o.preset !== 'ia3' && o.preset !== 'lokr') {
        console.error(`lyco demo: --preset ${o.preset}: expected ia3 or lokr`);
        process.exitCode = 2;
        return;
      }
      // The tiny model's kernels gain nothing from a second thread, and lose much on a busy machine.
      torch.setNumThreads(1);
      const t0 = performance.now();
      const r = await runDemo({ ...FULL, preset: o.preset as DemoPreset, out: o.out, log: () => {} });
      const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
      console.log(`dataset:      ${r.dataset}`);
      console.log(`config:       ${r.config}`);
      console.log(`adapter:      ${r.adapter} (${r.steps} steps, ${r.trainSeconds.toFixed(0)} s)`);
      console.log(`tensorboard:  ${r.logDir}  (tensorboard --logdir ${r.logDir})`);
      console.log(`samples:      ${r.grid} (left: without the adapter, right: with it)`);
      console.log(`d*lr, loss:   ${r.plot} (top: d*lr, bottom: average loss)`);
      console.log(
        `purple shapes: ${pct(r.without.purple)} without the adapter -> ${pct(r.with.purple)} with it (n=${r.with.n}; pass: >= ${pct(THRESHOLD.withAdapter)} and +${pct(THRESHOLD.gain)})`,
      );
      console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      if (!passes(r.without.purple, r.with.purple)) {
        console.error('lyco demo: the adapter did not reach the threshold');
        process.exitCode = 1;
      }
    });
}
