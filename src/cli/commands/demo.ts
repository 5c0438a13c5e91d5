// `lyco demo`: the README's main command.
import type { Command } from 'commander';
import * as torch from '../../torch/index.ts';
import { runEngineDemo } from '../../train/engine-demo.ts';

export function register(program: Command): void {
  program
    .command('demo')
    .description('train a tiny noise predictor with Prodigy on generated images (an engine check, about a minute on 2 cores)')
    .option('--steps <n>', 'optimizer steps', '300')
    .option('--out <dir>', 'output folder', 'out/demo')
    .action((o: { steps: string; out: string }) => {
      const i = torch.info();
      console.log(`lyco demo: libtorch ${i.torchVersion}, ${i.threads} threads, BLAS ${i.blas}${i.cuda ? ', CUDA' : ''}`);
      const r = runEngineDemo({ steps: Number(o.steps), outDir: o.out });
      console.log(
        `loss ${r.firstLoss.toFixed(4)} (first 20 steps) -> ${r.lastLoss.toFixed(4)} (last 20); Prodigy d*lr ${r.dLr.toExponential(3)}`,
      );
      console.log(`weights: ${r.weights}  (${r.seconds.toFixed(1)} s)`);
      if (!(r.lastLoss < r.firstLoss)) {
        console.error('lyco demo: the loss did not go down; the engine is not training correctly');
        process.exitCode = 1;
      }
    });
}
