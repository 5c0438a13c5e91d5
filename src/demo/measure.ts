// Reads back what a 32x32 image shows, with no learned parts, so "did the model learn the
// prompt" is a number: each pixel takes its nearest palette colour; the background is the
// commonest colour on the border; the shape is the largest connected region of the commonest
// other colour; its kind follows from how much of its bounding box it fills (square 1,
// circle π/4 ≈ 0.79, triangle 1/2). The palette is a parameter so the demo can add the colour
// its adapter teaches (purple) without the pretraining figures changing.
import { COLOURS, type Shape, type ShapeSpec, SIZE } from './shapes.ts';

/** Colour name → RGB the reader snaps pixels to. */
export type Palette = Readonly<Record<string, readonly number[]>>;

export interface Reading {
  background: string;
  /** undefined when no region of another colour is big enough (min 12 px). */
  colour?: string;
  shape?: Shape;
  /** Region area over bounding-box area. */
  fill: number;
  area: number;
}

const MIN_AREA = 12;

function nearest(palette: readonly (readonly number[])[], r: number, g: number, b: number): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  palette.forEach(([cr, cg, cb], i) => {
    const d = (r - cr) ** 2 + (g - cg) ** 2 + (b - cb) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

function commonest(labels: Iterable<number>, k: number, skip = -1): number {
  const counts = new Array(k).fill(0);
  for (const l of labels) if (l !== skip) counts[l]++;
  let best = -1;
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0 && (best < 0 || counts[i] > counts[best])) best = i;
  return best;
}

/** The largest 4-connected set of pixels labelled `label`. */
function largestRegion(labels: Int8Array, label: number): number[] {
  const seen = new Uint8Array(labels.length);
  let best: number[] = [];
  for (let start = 0; start < labels.length; start++) {
    if (seen[start] || labels[start] !== label) continue;
    const region: number[] = [];
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      region.push(p);
      const x = p % SIZE;
      const y = (p - x) / SIZE;
      for (const [nx, ny] of [
        [x - 1, y],
        [x + 1, y],
        [x, y - 1],
        [x, y + 1],
      ]) {
        if (nx < 0 || ny < 0 || nx >= SIZE || ny >= SIZE) continue;
        const q = ny * SIZE + nx;
        if (!seen[q] && labels[q] === label) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    if (region.length > best.length) best = region;
  }
  return best;
}

export function shapeOfFill(fill: number): Shape {
  return fill > 0.9 ? 'square' : fill > 0.64 ? 'circle' : 'triangle';
}

/** What a SIZE x SIZE RGB image shows. */
export function read(pixels: Uint8Array): Reading {
  return readWith(pixels, COLOURS);
}

/** What an image shows, snapped to `palette`. */
export function readWith(pixels: Uint8Array, palette: Palette): Reading {
  const names = Object.keys(palette);
  const rgb = names.map((n) => palette[n]);
  const labels = new Int8Array(SIZE * SIZE);
  for (let i = 0; i < labels.length; i++) labels[i] = nearest(rgb, pixels[i * 3], pixels[i * 3 + 1], pixels[i * 3 + 2]);
  const border: number[] = [];
  for (let i = 0; i < SIZE; i++) border.push(labels[i], labels[(SIZE - 1) * SIZE + i], labels[i * SIZE], labels[i * SIZE + SIZE - 1]);
  const bg = commonest(border, names.length);
  const fg = commonest(labels, names.length, bg);
  const reading: Reading = { background: names[bg], fill: 0, area: 0 };
  if (fg < 0) return reading;
  const region = largestRegion(labels, fg);
  if (region.length < MIN_AREA) return reading;
  const xs = region.map((p) => p % SIZE);
  const ys = region.map((p) => Math.floor(p / SIZE));
  const box = (Math.max(...xs) - Math.min(...xs) + 1) * (Math.max(...ys) - Math.min(...ys) + 1);
  const fill = region.length / box;
  return { background: names[bg], colour: names[fg], shape: shapeOfFill(fill), fill, area: region.length };
}

export interface Score {
  n: number;
  /** Fractions of images whose reading agrees with the prompt. */
  colour: number;
  background: number;
  shape: number;
  /** All three right. */
  all: number;
}

type Wanted = Pick<ShapeSpec, 'shape' | 'colour' | 'background'>;

export function score(images: readonly Uint8Array[], wanted: readonly Wanted[]): Score {
  let colour = 0;
  let background = 0;
  let shape = 0;
  let all = 0;
  images.forEach((px, i) => {
    const r = read(px);
    const w = wanted[i];
    const c = r.colour === w.colour;
    const b = r.background === w.background;
    const s = r.shape === w.shape;
    colour += +c;
    background += +b;
    shape += +s;
    all += +(c && b && s);
  });
  const n = images.length;
  return { n, colour: colour / n, background: background / n, shape: shape / n, all: all / n };
}

/** Agreement by chance: 1/6 colours, 1/6 backgrounds (5 allowed, 6 readable), 1/3 shapes. */
export const CHANCE = { colour: 1 / 6, background: 1 / 6, shape: 1 / 3, all: 1 / 108 };

export function formatScore(s: Score): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  return `colour ${pct(s.colour)}, background ${pct(s.background)}, shape ${pct(s.shape)}, all three ${pct(s.all)} (n=${s.n})`;
}
