// One training image at its bucket size, as sd-scripts' trim_and_resize_if_required does it:
// resize to resized_size, crop the excess (center: excess // 2; random: randint(0, excess),
// width first), then flip. sharp's kernels stand in for cv2 INTER_AREA / PIL LANCZOS, so pixels
// differ slightly from sd-scripts' while every size and offset is the same.
import type { KernelEnum } from 'sharp';
import { getCropLtrb, type Ltrb, type Size } from './buckets.ts';
import { openImage, type RgbImage, toRgb } from './image-decode.ts';
import type { PyRandom } from './py-random.ts';

/** sd-scripts' resize_interpolation names -> sharp kernels (area has no sharp twin: lanczos3). */
const KERNELS: Record<string, keyof KernelEnum> = {
  lanczos: 'lanczos3',
  lanczos4: 'lanczos3',
  area: 'lanczos3',
  box: 'lanczos3',
  bilinear: 'linear',
  bicubic: 'cubic',
  nearest: 'nearest',
};

export interface PreparedImage {
  image: RgbImage;
  /** image size before resizing (w, h) */
  originalSize: Size;
  /** SDXL crop conditioning, as if center-cropped (also for random crops, as sd-scripts) */
  cropLtrb: Ltrb;
  /** where the crop started inside the resized image (x, y) */
  cropOffset: Size;
  flipped: boolean;
}

export interface PrepareOptions {
  bucketReso: Size;
  resizedSize: Size;
  randomCrop: boolean;
  flip: boolean;
  resizeInterpolation?: string;
  /** needed for random crops */
  rng?: PyRandom;
  /** crop start already drawn (by the epoch sampler, in sd-scripts' draw order) */
  cropOffset?: Size;
}

/** Crop offsets, drawing from rng only on an axis with excess (as sd-scripts). */
export function cropOffsets(bucketReso: Size, resizedSize: Size, randomCrop: boolean, rng?: PyRandom): Size {
  const offset = (excess: number) => {
    if (excess <= 0) return 0;
    if (!randomCrop) return Math.floor(excess / 2);
    if (!rng) throw new Error('random_crop needs the epoch random generator');
    return rng.randint(0, excess);
  };
  const x = offset(resizedSize[0] - bucketReso[0]);
  const y = offset(resizedSize[1] - bucketReso[1]);
  return [x, y];
}

/** Mirror an RGB image left to right, in place. */
export function flipHorizontal(img: RgbImage): RgbImage {
  const { data, width, height } = img;
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let l = 0, r = width - 1; l < r; l++, r--) {
      const a = row + l * 3;
      const b = row + r * 3;
      for (let c = 0; c < 3; c++) {
        const t = data[a + c];
        data[a + c] = data[b + c];
        data[b + c] = t;
      }
    }
  }
  return img;
}

export async function prepareImage(input: Buffer | string, originalSize: Size, o: PrepareOptions): Promise<PreparedImage> {
  const [rw, rh] = o.resizedSize;
  const [bw, bh] = o.bucketReso;
  const [x, y] = o.cropOffset ?? cropOffsets(o.bucketReso, o.resizedSize, o.randomCrop, o.rng);
  let pipeline = openImage(input);
  if (rw !== originalSize[0] || rh !== originalSize[1]) {
    let name = o.resizeInterpolation;
    // sd-scripts' default: area when shrinking both sides, lanczos otherwise
    if (!name) name = originalSize[0] >= rw && originalSize[1] >= rh ? 'area' : 'lanczos';
    const kernel = KERNELS[name];
    if (!kernel) throw new Error(`resize_interpolation "${name}" is unknown; use one of ${Object.keys(KERNELS).join(', ')}`);
    pipeline = pipeline.resize(rw, rh, { fit: 'fill', kernel });
  }
  if (rw > bw || rh > bh) pipeline = pipeline.extract({ left: x, top: y, width: Math.min(bw, rw), height: Math.min(bh, rh) });
  const image = await toRgb(pipeline);
  if (image.width !== bw || image.height !== bh)
    throw new Error(`internal error: prepared ${image.width}x${image.height}, bucket is ${bw}x${bh}`);
  if (o.flip) flipHorizontal(image);
  return { image, originalSize, cropLtrb: getCropLtrb(o.bucketReso, originalSize), cropOffset: [x, y], flipped: o.flip };
}

/** HWC uint8 -> CHW float32 in [-1, 1] (ToTensor + Normalize(0.5, 0.5)). */
export function toChwFloat(img: RgbImage): Float32Array {
  const { data, width, height } = img;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = data[i * 3 + c] / 127.5 - 1;
  return out;
}
