// The concept the demo's adapter teaches: the colour word "purple", which the tiny model never saw
// (models/tiny/README.md). Its RGB sits far from every known colour so the reader can tell it apart.
// The bundled VAE renders it (trained on arbitrary colours, as real SD VAEs are: a purple square
// round-trips (150,40,190) → (152,61,175)); the UNet and text encoder never saw it.
import { COLOURS } from './shapes.ts';

export const PURPLE = [150, 40, 190] as const;

/** The reader's palette for the demo: the model's six colours plus purple. */
export const DEMO_PALETTE = { ...COLOURS, purple: PURPLE } as const;
