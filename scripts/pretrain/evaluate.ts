// Loads the tiny model from its diffusers folder (as any user would, through loadModel and the
// model folder's tokenizer/) and measures what its samples show against their prompts.

import { PyRandom } from '../../src/data/py-random.ts';
import { loadTiny } from '../../src/demo/tiny.ts';
import { type GenerateOptions, generate, type TextToImage } from './generate.ts';
import { type Score, score } from './measure.ts';
import { caption, randomSpec, type ShapeSpec } from './shapes.ts';

export { loadTiny };

/** `n` random prompts from a fixed stream (not the training seed's), one sample each. */
export function evalPrompts(n: number, streamSeed = 2024): ShapeSpec[] {
  const rng = new PyRandom(streamSeed);
  return Array.from({ length: n }, () => randomSpec(rng));
}

export const EVAL_DEFAULTS: Required<Omit<GenerateOptions, 'latentSize'>> = { steps: 20, cfg: 4, sampler: 'ddim' };

export function evaluate(m: TextToImage, n = 64, o: GenerateOptions = EVAL_DEFAULTS, batch = 32): Score {
  const specs = evalPrompts(n);
  const images: Uint8Array[] = [];
  for (let i = 0; i < n; i += batch) {
    const part = specs.slice(i, i + batch);
    images.push(
      ...generate(
        m,
        part.map((s) => caption(s)),
        part.map((_, j) => i + j),
        o,
      ),
    );
  }
  return score(images, specs);
}
