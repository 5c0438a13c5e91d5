// Did the adapter teach "purple"? The fraction of samples of "a purple <shape> on a <colour>
// background" prompts whose shape reads back as purple (measure.ts's reader with purple added to
// its palette), over every shape × background, a few seeds each.
import { generate, type TextToImage } from './generate.ts';
import { readWith } from './measure.ts';
import { DEMO_PALETTE } from './purple.ts';
import { COLOUR_NAMES, SHAPES } from './shapes.ts';

/** Pass when the adapted model draws purple in at least half its samples, 0.3 more than without. */
export const THRESHOLD = { withAdapter: 0.5, gain: 0.3 };

export const metricPrompts = (): string[] => SHAPES.flatMap((s) => COLOUR_NAMES.map((bg) => `a purple ${s} on a ${bg} background`));

export interface PurpleScore {
  n: number;
  purple: number;
}

export function purpleFraction(m: TextToImage, seeds: readonly number[], steps = 20): PurpleScore {
  const prompts = metricPrompts();
  let purple = 0;
  let n = 0;
  for (const seed of seeds) {
    const images = generate(
      m,
      prompts,
      prompts.map((_, i) => seed * 1000 + i),
      { steps, cfg: 4 },
    );
    for (const px of images) purple += +(readWith(px, DEMO_PALETTE).colour === 'purple');
    n += images.length;
  }
  return { n, purple: purple / n };
}

export const passes = (without: number, withAdapter: number) =>
  withAdapter >= THRESHOLD.withAdapter && withAdapter - without >= THRESHOLD.gain;
