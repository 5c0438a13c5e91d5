// The before/after sample grid: rows are prompts with "purple", columns are seeds; the left block
// is the base model, the right block the same prompts and seeds with the adapter merged in.
import { generate, type TextToImage } from './generate.ts';
import { writeGrid } from './images.ts';
import { SIZE } from './shapes.ts';

export const GRID_PROMPTS = [
  'a purple circle on a yellow background',
  'a purple square on a white background',
  'a purple triangle on a green background',
  'a purple circle on a black background',
];

export function gridRows(m: TextToImage, prompts: readonly string[], seeds: readonly number[], steps = 20): Uint8Array[][] {
  return prompts.map((p) =>
    generate(
      m,
      seeds.map(() => p),
      seeds,
      { steps, cfg: 4 },
    ),
  );
}

/** Left block `before`, one blank column, right block `after`; 2x zoom. */
export async function writeBeforeAfter(path: string, before: Uint8Array[][], after: Uint8Array[][]): Promise<void> {
  const blank = new Uint8Array(SIZE * SIZE * 3).fill(255);
  await writeGrid(
    path,
    before.map((row, i) => [...row, blank, ...after[i]]),
    SIZE,
    2,
  );
}
