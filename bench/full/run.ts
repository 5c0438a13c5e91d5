// bench/full: `lyco train` end to end on a full-size base model, as a user runs it: a single-file
// fp16 checkpoint with the real key list (a sparse file of zeros built from golden/models'
// conversion lists, so it costs no disk), generated images, a guide preset as written, the CLIP
// vocabulary from golden/models/tokenizer. Reports wall time and peak RSS of each run (one child
// process per run). Needs the golden folder (LYCO_GOLDEN or ../shared/golden).
//   node --import tsx bench/full/run.ts [--model sd15|sdxl] [--preset ia3|lokr] [--images 4] [--size 256]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { findPreset } from '../../src/config/index.ts';
import { PyRandom } from '../../src/data/py-random.ts';
import { goldenRoot } from '../../test/helpers/golden.ts';
import { writeSparseCheckpoint } from '../../test/models/sparse-checkpoint.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'sd15' },
    preset: { type: 'string' },
    images: { type: 'string', default: '4' },
    size: { type: 'string', default: '256' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const golden = goldenRoot();
if (!golden) {
  console.log('bench/full: not run: golden data not found (set LYCO_GOLDEN or place shared/golden beside the checkout)');
  process.exit(0);
}
const model = args.model === 'sdxl' ? 'sdxl' : 'sd15';
const size = Number(args.size);
const dir = mkdtempSync(join(tmpdir(), 'lyco-bench-full-'));
try {
  const ckpt = join(dir, `${model}.safetensors`);
  writeSparseCheckpoint(golden, model, ckpt);
  // Noise images from a seeded generator: distinct, so the duplicate check passes.
  const folder = join(dir, 'data', '1_thing');
  mkdirSync(folder, { recursive: true });
  const rng = new PyRandom(7);
  for (let i = 0; i < Number(args.images); i++) {
    const px = Buffer.alloc(size * size * 3);
    for (let j = 0; j < px.length; j++) px[j] = rng.randint(0, 255);
    await sharp(px, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(join(folder, `img${i}.png`));
  }
  console.log(`lyco train on a full-size ${model} fp16 single file, ${args.images} images at ${size} px, one epoch`);
  for (const preset of args.preset ? [args.preset] : ['ia3', 'lokr']) {
    const config = join(dir, `${preset}.json`);
    writeFileSync(config, findPreset(preset)?.text as string);
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(here, 'train-child.ts'),
        config,
        ckpt,
        join(dir, 'data'),
        join(dir, `out-${preset}`),
        join(golden, 'models', 'tokenizer'),
        String(size),
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`${preset}: training failed:\n${r.stderr.split('\n').slice(-8).join('\n')}`);
    const f = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    console.log(
      `${preset.padEnd(5)} ${f.steps} steps in ${f.seconds.toFixed(1)} s (load and latents included), peak RSS ${f.peakRssMiB} MiB, ${f.modules} modules, ${f.values} values`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
