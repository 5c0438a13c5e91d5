// Line charts drawn straight into an RGB buffer and encoded with sharp (no plotting library):
// one panel per curve, stacked, each scaled to its own min..max, with a light frame and grid.
import sharp from 'sharp';

export interface Curve {
  label: string;
  points: { step: number; value: number }[];
  rgb: readonly [number, number, number];
}

const W = 480;
const H = 160;
const PAD = 12;

function panel(out: Uint8Array, top: number, c: Curve): void {
  const set = (x: number, y: number, rgb: readonly number[]) => {
    if (x < 0 || x >= W || y < 0 || y >= H) return;
    const i = ((top + y) * W + x) * 3;
    out[i] = rgb[0];
    out[i + 1] = rgb[1];
    out[i + 2] = rgb[2];
  };
  // Frame and quarter grid lines, so the scale of the curve is readable without text.
  for (let x = PAD; x < W - PAD; x++)
    for (const f of [0, 0.25, 0.5, 0.75, 1]) set(x, Math.round(PAD + f * (H - 2 * PAD)), f % 1 ? [225, 225, 225] : [150, 150, 150]);
  for (let y = PAD; y < H - PAD; y++) {
    set(PAD, y, [150, 150, 150]);
    set(W - PAD - 1, y, [150, 150, 150]);
  }
  const pts = c.points.filter((p) => Number.isFinite(p.value));
  if (pts.length < 2) return;
  const s0 = pts[0].step;
  const s1 = pts[pts.length - 1].step;
  let lo = Math.min(...pts.map((p) => p.value));
  let hi = Math.max(...pts.map((p) => p.value));
  if (hi === lo) [lo, hi] = [lo - 1, hi + 1];
  const px = (s: number) => PAD + ((s - s0) / Math.max(1, s1 - s0)) * (W - 2 * PAD - 1);
  const py = (v: number) => PAD + (1 - (v - lo) / (hi - lo)) * (H - 2 * PAD - 1);
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0, x1, y1] = [px(pts[i - 1].step), py(pts[i - 1].value), px(pts[i].step), py(pts[i].value)];
    const n = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1));
    for (let k = 0; k <= n; k++) {
      const x = Math.round(x0 + ((x1 - x0) * k) / n);
      const y = Math.round(y0 + ((y1 - y0) * k) / n);
      set(x, y, c.rgb);
      set(x, y + 1, c.rgb);
    }
  }
}

/** Writes the curves as stacked panels (top to bottom in the given order) to a PNG. */
export async function writePlot(path: string, curves: Curve[]): Promise<void> {
  const out = new Uint8Array(W * H * curves.length * 3).fill(255);
  curves.forEach((c, i) => {
    panel(out, i * H, c);
  });
  await sharp(Buffer.from(out), { raw: { width: W, height: H * curves.length, channels: 3 } })
    .png()
    .toFile(path);
}
