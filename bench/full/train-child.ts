// Child of bench/full/run.ts: one `lyco train` run through the library API, then its figures as
// one JSON line (own process, so the peak RSS is this run's).
import { inspectAdapter } from '../../src/adapters/inspect.ts';
import { train } from '../../src/train/trainer.ts';

const [config, model, data, output, tokenizer, size] = process.argv.slice(2);
const t0 = performance.now();
const r = await train({
  config,
  model,
  data,
  output,
  tokenizer,
  argv: ['--resolution', `${size},${size}`, '--max_train_epochs', '1', '--seed', '1'],
  progress: false,
  log: () => {},
});
const seconds = (performance.now() - t0) / 1000;
const info = inspectAdapter(r.finalFile as string);
const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify({ steps: r.globalStep, seconds, peakRssMiB, modules: info.modules, values: info.parameters }));
