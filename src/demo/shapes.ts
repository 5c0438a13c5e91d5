// The procedural, captioned image set the tiny model learns: one axis-aligned shape of one
// colour on a plain background of another, "a red circle on a blue background". Small and
// regular on purpose, so a few minutes of CPU training can learn it and a pixel metric can
// check it. Colours and shapes not listed here are left for adapters to teach (the demo).
import { PyRandom } from '../data/py-random.ts';

export const SIZE = 32;

export const COLOURS = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [240, 210, 40],
  white: [240, 240, 240],
  black: [25, 25, 25],
} as const satisfies Record<string, readonly [number, number, number]>;

export type Colour = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as Colour[];

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export type Shape = (typeof SHAPES)[number];

export interface ShapeSpec {
  shape: Shape;
  colour: Colour;
  background: Colour;
  /** Centre and half-size in pixels. */
  cx: number;
  cy: number;
  r: number;
}

export interface ShapeImage {
  spec: ShapeSpec;
  caption: string;
  /** SIZE·SIZE·3 bytes, row-major RGB. */
  pixels: Uint8Array;
}

export function caption(s: Pick<ShapeSpec, 'shape' | 'colour' | 'background'>): string {
  return `a ${s.colour} ${s.shape} on a ${s.background} background`;
}

/** Fraction of the pixel at (x, y) covered by the shape, from 4x4 supersampling (soft edges). */
function coverage(s: ShapeSpec, x: number, y: number): number {
  let hit = 0;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      const px = x + (i + 0.5) / 4 - s.cx;
      const py = y + (j + 0.5) / 4 - s.cy;
      if (inside(s.shape, px, py, s.r)) hit++;
    }
  }
  return hit / 16;
}

function inside(shape: Shape, dx: number, dy: number, r: number): boolean {
  if (shape === 'circle') return dx * dx + dy * dy <= r * r;
  if (shape === 'square') return Math.abs(dx) <= r && Math.abs(dy) <= r;
  // Upright isosceles triangle in the same box: apex at the top, base at the bottom.
  if (dy < -r || dy > r) return false;
  const halfWidth = (r * (dy + r)) / (2 * r);
  return Math.abs(dx) <= halfWidth;
}

export function render(
  spec: ShapeSpec,
  jitter: [number[], number[]] = [
    [0, 0, 0],
    [0, 0, 0],
  ],
): Uint8Array {
  const fg = COLOURS[spec.colour].map((v, i) => v + jitter[0][i]);
  const bg = COLOURS[spec.background].map((v, i) => v + jitter[1][i]);
  const out = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const a = coverage(spec, x, y);
      for (let c = 0; c < 3; c++) out[(y * SIZE + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(a * fg[c] + (1 - a) * bg[c])));
    }
  }
  return out;
}

/** A random spec: the shape fully inside the image, half-size 6..11 px, colours distinct. */
export function randomSpec(rng: PyRandom): ShapeSpec {
  const shape = SHAPES[rng.randbelow(SHAPES.length)];
  const colour = COLOUR_NAMES[rng.randbelow(COLOUR_NAMES.length)];
  const others = COLOUR_NAMES.filter((c) => c !== colour);
  const background = others[rng.randbelow(others.length)];
  const r = 6 + rng.random() * 5;
  const margin = r + 1;
  const cx = margin + rng.random() * (SIZE - 2 * margin);
  const cy = margin + rng.random() * (SIZE - 2 * margin);
  return { shape, colour, background, cx, cy, r };
}

/** `n` images from `seed`; colours jittered by up to ±10 per channel so they are not one exact value. */
export function makeShapes(seed: number, n: number): ShapeImage[] {
  const rng = new PyRandom(seed);
  const jit = () => [0, 1, 2].map(() => rng.randint(-10, 10));
  const out: ShapeImage[] = [];
  for (let i = 0; i < n; i++) {
    const spec = randomSpec(rng);
    out.push({ spec, caption: caption(spec), pixels: render(spec, [jit(), jit()]) });
  }
  return out;
}

/**
 * Uncaptioned images in any RGB colours (for the VAE only): a real SD VAE renders every colour,
 * while the UNet and text encoder know just the six named ones; the adapter demo relies on that.
 */
export function makeAnyColourShapes(seed: number, n: number): Uint8Array[] {
  const rng = new PyRandom(seed);
  const rgb = () => [0, 1, 2].map(() => rng.randint(0, 255));
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    // 'black' has RGB 0, so the jitter is the colour itself.
    const spec = { ...randomSpec(rng), colour: 'black' as Colour, background: 'black' as Colour };
    out.push(render(spec, [rgb(), rgb()]));
  }
  return out;
}

/** Every caption the set can produce (for the tokenizer's corpus). */
export function allCaptions(): string[] {
  const out: string[] = [];
  for (const shape of SHAPES)
    for (const colour of COLOUR_NAMES)
      for (const bg of COLOUR_NAMES) if (bg !== colour) out.push(caption({ shape, colour, background: bg }));
  return out;
}
