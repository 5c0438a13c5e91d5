// The concept the demo's adapter teaches: the colour word "purple", which the tiny model never saw
// (models/tiny/README.md). Its RGB sits far from every known colour so the reader can tell it apart.
// Measured: the bundled tiny VAE, trained on six colours only, decodes a purple square (150,40,190)
// as teal (28,138,136), so no UNet/text adapter can produce purple through it yet. Real SD VAEs
// render any colour; the fix is to pretrain the tiny VAE on a wider palette (the UNet and text
// encoder still without purple), then re-measure this demo.
import { COLOURS } from './shapes.ts';

export const PURPLE = [150, 40, 190] as const;

/** The reader's palette for the demo: the model's six colours plus purple. */
export const DEMO_PALETTE = { ...COLOURS, purple: PURPLE } as const;
