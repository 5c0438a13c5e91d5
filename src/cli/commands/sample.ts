// `lyco sample --model PATH --prompt "..." --out x.png`: one image from a base model (and an
// adapter merged at a multiplier), so a person can look at what a model makes.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { SAMPLERS, type SamplerName, StableDiffusionPipeline, savePng } from '../../models/pipeline.ts';

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`an integer >= ${min} is expected`);
  return n;
};
const number = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('a number is expected');
  return n;
};

/** Checked before the (slow) model load; one line through main's error path. */
function checkSize(name: string, v: number | undefined): void {
  if (v !== undefined && v % 8 !== 0) throw new Error(`${name} ${v}: must be a multiple of 8 (the VAE's scale factor)`);
}

interface SampleArgs {
  model: string;
  prompt: string;
  negative: string;
  network?: string;
  multiplier: number;
  steps: number;
  cfg: number;
  sampler: SamplerName;
  seed?: number;
  width?: number;
  height?: number;
  tokenizer?: string;
  clipSkip?: number;
  vPrediction?: boolean;
  out: string;
}

export function register(program: Command): void {
  program
    .command('sample')
    .description('generate an image from a prompt with a base model (and an adapter), to see what it makes')
    .requiredOption('--model <path>', 'base model: single-file .safetensors or diffusers folder')
    .requiredOption('--prompt <text>', 'prompt')
    .option('--negative <text>', 'negative prompt', '')
    .option('--network <file>', 'adapter .safetensors (LoRA/LoCon/LoHa/LoKr/iA3/full) merged into the model')
    .option('--multiplier <m>', 'adapter weight', number, 1)
    .option('--steps <n>', 'sampling steps', int(1), 20)
    .option('--cfg <scale>', 'classifier-free guidance scale', number, 7.5)
    .addOption(new Option('--sampler <name>', 'sampler').choices(SAMPLERS).default('euler_a'))
    .option('--seed <n>', 'seed (default: random, printed)', int(0))
    .option('--width <px>', 'width, a multiple of 8 (default 512, SDXL 1024)', int(8))
    .option('--height <px>', 'height, a multiple of 8 (default: the width)', int(8))
    .option('--tokenizer <dir>', 'CLIP tokenizer files (vocab.json + merges.txt) when the model has none')
    .option('--clip-skip <n>', 'SD1.x/SD2.x: use the n-th last text-encoder layer (2 = penultimate)', int(1))
    .option('--v-prediction', 'the model predicts v (SD2.x 768-v single files)')
    .requiredOption('--out <file>', 'PNG to write')
    .action(async (o: SampleArgs) => {
      checkSize('--width', o.width);
      checkSize('--height', o.height);
      const t0 = performance.now();
      const pipe = StableDiffusionPipeline.load(o.model, {
        tokenizer: o.tokenizer,
        network: o.network,
        multiplier: o.multiplier,
        clipSkip: o.clipSkip,
        predictionType: o.vPrediction ? 'v_prediction' : undefined,
        log: (m) => console.log(m),
      });
      try {
        const img = pipe.generate({
          prompt: o.prompt,
          negative: o.negative,
          steps: o.steps,
          cfg: o.cfg,
          sampler: o.sampler,
          seed: o.seed,
          width: o.width,
          height: o.height ?? o.width,
          // A step can take seconds on CPU: show where it is, on terminals only.
          onStep: process.stderr.isTTY ? (i, n) => process.stderr.write(`\rstep ${i + 1}/${n}${i + 1 === n ? '\n' : ''}`) : undefined,
        });
        await savePng(o.out, img);
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        console.log(
          `${o.out}: ${img.width}x${img.height}, ${pipe.family}, ${o.sampler} ${o.steps} steps, cfg ${o.cfg}, seed ${img.seed} (${secs} s)`,
        );
      } finally {
        pipe.dispose();
      }
    });
}
