// Deterministic synthetic photos for data tests: a gradient background, soft texture and a few
// random shapes, drawn into a raw RGB buffer and encoded with sharp. Nothing binary is committed.
import sharp, { type Sharp } from 'sharp';
import { PyRandom } from '../../src/data/py-random.ts';

export interface Raw {
  data: Buffer;
  width: number;
  height: number;
}

export interface SynthOptions {
  width: number;
  height: number;
  seed: number;
  /** seed of the background and palette; images sharing it look alike (hard negatives) */
  familySeed?: number;
  shapes?: number;
}

export function synthImage(o: SynthOptions): Raw {
  const { width: w, height: h } = o;
  const fam = new PyRandom(o.familySeed ?? o.seed * 7919 + 1);
  const rnd = new PyRandom(o.seed);
  const c0 = [fam.randint(0, 255), fam.randint(0, 255), fam.randint(0, 255)];
  const c1 = [fam.randint(0, 255), fam.randint(0, 255), fam.randint(0, 255)];
  const angle = fam.random() * Math.PI * 2;
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  const freq = 0.02 + fam.random() * 0.08;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + ((x / w - 0.5) * dx + (y / h - 0.5) * dy)));
      const tex = 12 * Math.sin(x * freq + Math.sin(y * freq * 0.7) * 3);
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = clamp(c0[c] * (1 - t) + c1[c] * t + tex);
    }
  const n = o.shapes ?? 3 + rnd.randint(0, 4);
  for (let s = 0; s < n; s++) {
    const col = [rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(0, 255)];
    const cx = rnd.random() * w;
    const cy = rnd.random() * h;
    const r = (0.08 + rnd.random() * 0.25) * Math.min(w, h);
    const kind = rnd.randint(0, 2);
    const ax = 0.5 + rnd.random();
    for (let y = Math.max(0, Math.floor(cy - r * 1.6)); y < Math.min(h, cy + r * 1.6); y++)
      for (let x = Math.max(0, Math.floor(cx - r * 1.6)); x < Math.min(w, cx + r * 1.6); x++) {
        const u = (x - cx) / (r * ax);
        const v = (y - cy) / r;
        const inside =
          kind === 0 ? u * u + v * v < 1 : kind === 1 ? Math.abs(u) < 1 && Math.abs(v) < 0.7 : v > -1 && v < 1 && Math.abs(u) < (1 - v) / 2;
        if (!inside) continue;
        const i = (y * w + x) * 3;
        for (let c = 0; c < 3; c++) data[i + c] = clamp(col[c] + 8 * Math.sin((x + y) * 0.3));
      }
  }
  return { data, width: w, height: h };
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

export function toSharp(r: Raw): Sharp {
  return sharp(r.data, { raw: { width: r.width, height: r.height, channels: 3 } });
}

export const png = (r: Raw) => toSharp(r).png().toBuffer();
export const jpeg = (r: Raw, quality = 90) => toSharp(r).jpeg({ quality }).toBuffer();
export const webp = (r: Raw, lossless = false) => toSharp(r).webp({ lossless, quality: 80 }).toBuffer();

/** Copy shrunk or enlarged by `factor`. */
export async function resized(r: Raw, factor: number): Promise<Raw> {
  const width = Math.round(r.width * factor);
  const height = Math.round(r.height * factor);
  const data = await toSharp(r).resize(width, height, { fit: 'fill' }).raw().toBuffer();
  return { data, width, height };
}

/** Copy with `frac` of each side cut away (left/top and right/bottom split unevenly). */
export async function cropped(r: Raw, frac: number): Promise<Raw> {
  const cw = Math.round(r.width * frac);
  const ch = Math.round(r.height * frac);
  const left = Math.round(cw * 0.3);
  const top = Math.round(ch * 0.6);
  const width = r.width - cw;
  const height = r.height - ch;
  const data = await toSharp(r).extract({ left, top, width, height }).raw().toBuffer();
  return { data, width, height };
}
