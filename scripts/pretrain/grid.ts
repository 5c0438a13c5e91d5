// Shows and measures what the tiny model learned:
//   node --import tsx scripts/pretrain/grid.ts [--model models/tiny] [--out models/tiny/samples.png]
// The grid has one row per prompt: a reference drawing of the prompt, then samples from seeds
// 0..N-1. The figures are the pixel readings (measure.ts) of 64 random prompts' samples
// against their prompts, beside chance and beside the VAE's reconstructions of real images.
import { parseArgs } from 'node:util';
import * as torch from '../../src/torch/index.ts';
import { evaluate, loadTiny } from './evaluate.ts';
import { type GenerateOptions, generate } from './generate.ts';
import { toPixels, toTensor, writeGrid } from './images.ts';
import { CHANCE, formatScore, read, score } from './measure.ts';
import { caption, makeShapes, render, type ShapeSpec, SIZE } from './shapes.ts';

export const GRID_PROMPTS: Pick<ShapeSpec, 'shape' | 'colour' | 'background'>[] = [
  { colour: 'red', shape: 'circle', background: 'blue' },
  { colour: 'green', shape: 'square', background: 'yellow' },
  { colour: 'yellow', shape: 'triangle', background: 'black' },
  { colour: 'white', shape: 'circle', background: 'green' },
  { colour: 'blue', shape: 'square', background: 'white' },
  { colour: 'black', shape: 'triangle', background: 'red' },
];

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/tiny' },
    out: { type: 'string' },
    seeds: { type: 'string', default: '6' },
    sampler: { type: 'string', default: 'ddim' },
    steps: { type: 'string', default: '20' },
    cfg: { type: 'string', default: '4' },
  },
});
torch.setNumThreads(1);
const model = values.model as string;
const out = values.out ?? `${model}/samples.png`;
const o: GenerateOptions = { steps: Number(values.steps), cfg: Number(values.cfg), sampler: values.sampler as 'ddim' | 'euler_a' };
const m = loadTiny(model);
const t0 = performance.now();

const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => i);
const rows: Uint8Array[][] = [];
for (const p of GRID_PROMPTS) {
  const prompt = caption(p);
  const samples = generate(
    m,
    seeds.map(() => prompt),
    seeds,
    o,
  );
  const agree = samples.filter((px) => {
    const r = read(px);
    return r.colour === p.colour && r.background === p.background && r.shape === p.shape;
  }).length;
  console.log(`${prompt.padEnd(40)} ${agree}/${samples.length} samples read back as prompted`);
  rows.push([render({ ...p, cx: SIZE / 2, cy: SIZE / 2, r: 9 }), ...samples]);
}
await writeGrid(out, rows, SIZE, 2);
console.log(`wrote ${out} (first column: the prompt drawn by the data generator; then seeds ${seeds.join(', ')})`);

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
console.log(
  `chance:                 colour ${pct(CHANCE.colour)}, background ${pct(CHANCE.background)}, shape ${pct(CHANCE.shape)}, all three ${pct(CHANCE.all)}`,
);
const real = makeShapes(777, 64);
const recon = torch.noGrad(() =>
  torch.scope(() => {
    const x = toTensor(
      real.map((s) => s.pixels),
      SIZE,
    );
    return toPixels(m.vae.decode(m.vae.encode(x).mode()));
  }),
);
console.log(
  `VAE reconstructions:    ${formatScore(
    score(
      recon,
      real.map((s) => s.spec),
    ),
  )}`,
);
for (const cfg of [1, Number(values.cfg)]) {
  console.log(`samples, ${o.sampler} ${o.steps} steps, cfg ${cfg}: ${formatScore(evaluate(m, 64, { ...o, cfg }))}`);
}
console.log(`sampling and measuring took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
