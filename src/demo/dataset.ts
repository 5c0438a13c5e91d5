// The demo's training set: purple circles/squares/triangles on the known background colours,
// 32x32 PNGs in a kohya folder `<repeats>_purple/`, each with a manual, logical caption in the
// guide's style ("purple circle on a blue background"). Deterministic from a seed.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { dedupeDirectory } from '../data/dedupe-dir.ts';
import { PyRandom } from '../data/py-random.ts';
import { PURPLE } from './purple.ts';
import { COLOUR_NAMES, COLOURS, randomSpec, render, SHAPES, type ShapeSpec, SIZE } from './shapes.ts';

export interface DemoDataset {
  root: string;
  folder: string;
  images: number;
  repeats: number;
}

export const purpleCaption = (s: Pick<ShapeSpec, 'shape' | 'background'>) => `a purple ${s.shape} on a ${s.background} background`;

/** Renders `spec` with purple as the shape colour (the generator only knows the six colours). */
function renderPurple(spec: ShapeSpec, rng: PyRandom): Uint8Array {
  const jit = () => rng.randint(-10, 10);
  const fg = PURPLE.map((v) => v + jit());
  const bg = COLOURS[spec.background].map((v) => v + jit());
  const mask = renderMask(spec);
  const out = new Uint8Array(SIZE * SIZE * 3);
  for (let i = 0; i < SIZE * SIZE; i++) {
    const a = mask[i];
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round(a * fg[c] + (1 - a) * bg[c])));
  }
  return out;
}

async function writeImage(folder: string, i: number, rng: PyRandom): Promise<void> {
  // Every shape and background in turn, so a short set still covers them all.
  const spec = { ...randomSpec(rng), shape: SHAPES[i % SHAPES.length], background: COLOUR_NAMES[i % COLOUR_NAMES.length] };
  const name = `purple_${String(i).padStart(3, '0')}`;
  await sharp(Buffer.from(renderPurple(spec, rng)), { raw: { width: SIZE, height: SIZE, channels: 3 } })
    .png()
    .toFile(join(folder, `${name}.png`));
  writeFileSync(join(folder, `${name}.caption`), purpleCaption(spec));
}

export async function writeDemoDataset(root: string, o: { images: number; repeats: number; seed: number }): Promise<DemoDataset> {
  const folder = join(root, `${o.repeats}_purple`);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const rng = new PyRandom(o.seed);
  let todo = Array.from({ length: o.images }, (_, i) => i);
  // Plain shapes on plain backgrounds often look alike to the trainer's pHash duplicate check,
  // which stops training (unless told to allow them; a demo should not need that): redraw all but one of each group.
  for (let round = 0; todo.length && round < 50; round++) {
    for (const i of todo) await writeImage(folder, i, rng);
    const { report } = await dedupeDirectory(folder, { progress: false });
    todo = report.groups.flatMap((g) => g.slice(1).map((p) => Number(basename(p).slice(7, 10))));
  }
  if (todo.length) throw new Error(`${folder}: could not draw ${o.images} images that the duplicate check accepts`);
  return { root, folder, images: o.images, repeats: o.repeats };
}

/** Per-pixel coverage in [0, 1] from the generator's own anti-aliased drawing (white on black). */
function renderMask(spec: ShapeSpec): Float32Array {
  const px = render({ ...spec, colour: 'white', background: 'black' }, [
    [15, 15, 15],
    [-25, -25, -25],
  ]);
  const m = new Float32Array(SIZE * SIZE);
  for (let i = 0; i < m.length; i++) m[i] = px[i * 3] / 255;
  return m;
}
