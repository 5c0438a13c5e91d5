// Between 8-bit RGB pixels and the [-1, 1] NCHW tensors the VAE works on; PNG grids.
import sharp from 'sharp';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

/** n images of side `size` (RGB bytes each) → [n, 3, size, size] float32 in [-1, 1]. */
export function toTensor(images: readonly Uint8Array[], size: number): Tensor {
  const data = new Float32Array(images.length * 3 * size * size);
  const plane = size * size;
  images.forEach((px, n) => {
    for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) data[(n * 3 + c) * plane + i] = px[i * 3 + c] / 127.5 - 1;
  });
  return torch.fromTypedArray(data, [images.length, 3, size, size]);
}

/** [n, 3, H, W] in about [-1, 1] → n RGB byte arrays (H·W·3, row-major). */
export function toPixels(x: Tensor): Uint8Array[] {
  return torch.noGrad(() =>
    torch.scope(() => {
      const [n, , h, w] = x.shape;
      const bytes = new Uint8Array(
        x.div(2).add(0.5).clamp(0, 1).mul(255).round().to('uint8').permute(0, 2, 3, 1).contiguous().data() as Uint8Array,
      );
      return Array.from({ length: n }, (_, i) => bytes.slice(i * h * w * 3, (i + 1) * h * w * 3));
    }),
  );
}

/** Tiles rows × cols images of side `size` with a `gap`-pixel white border, upscaled by `zoom`. */
export async function writeGrid(path: string, rows: Uint8Array[][], size: number, zoom = 2, gap = 2): Promise<void> {
  const cols = Math.max(...rows.map((r) => r.length));
  const cell = size * zoom + gap;
  const width = cols * cell + gap;
  const height = rows.length * cell + gap;
  const out = new Uint8Array(width * height * 3).fill(255);
  rows.forEach((row, r) => {
    row.forEach((px, c) => {
      for (let y = 0; y < size * zoom; y++) {
        for (let x = 0; x < size * zoom; x++) {
          const src = (Math.floor(y / zoom) * size + Math.floor(x / zoom)) * 3;
          const dst = ((gap + r * cell + y) * width + gap + c * cell + x) * 3;
          out[dst] = px[src];
          out[dst + 1] = px[src + 1];
          out[dst + 2] = px[src + 2];
        }
      }
    });
  });
  await sharp(Buffer.from(out), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 9 })
    .toFile(path);
}
