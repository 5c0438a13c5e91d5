// Image decoding with sharp: EXIF orientation applied, alpha flattened onto white, 8-bit sRGB.
// Every failure becomes an ImageProblem naming the file and the fix, never an exception midway.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { EXTENSION_OF_FORMAT, FORMAT_OF_EXTENSION } from './image-files.ts';
import { firstLine, type ImageProblem, problem } from './image-problems.ts';

/**
 * Largest accepted image, in pixels: Pillow's decompression-bomb limit (2 x 89,478,485), the
 * point where sd-scripts (through Pillow) refuses to open an image. A 12-bit-per-side header can
 * otherwise ask for gigabytes before a single pixel is read.
 */
export const MAX_IMAGE_PIXELS = 178_956_970;

/** Transparent pixels become white: what a viewer shows, and what most captioners assumed. */
export const ALPHA_BACKGROUND = { r: 255, g: 255, b: 255 };

/** Raw interleaved RGB, 8 bits per channel, rows top to bottom. */
export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface CheckedImage {
  path: string;
  /** the file's bytes, kept for the exact-duplicate hash */
  bytes: Buffer;
  format: string;
  /** size after EXIF orientation */
  width: number;
  height: number;
  /** full-size decoded pixels */
  pixels: RgbImage;
}

/** A sharp pipeline that orients, flattens and converts to sRGB; add resize/extract after it. */
export function openImage(input: Buffer | string): Sharp {
  return sharp(input, { failOn: 'error', autoOrient: true, limitInputPixels: false })
    .flatten({ background: ALPHA_BACKGROUND })
    .toColourspace('srgb');
}

export async function toRgb(pipeline: Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height };
}

/** The file ends before its format's end marker: PNG IEND, JPEG EOI, RIFF (WebP) length. */
function endsEarly(b: Buffer): boolean {
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return !b.subarray(-12).includes('IEND', 0, 'latin1');
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xd8) return !(b.subarray(-2)[0] === 0xff && b.subarray(-2)[1] === 0xd9);
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF') return b.readUInt32LE(4) + 8 > b.length;
  return false;
}

function decodeProblem(path: string, e: unknown, bytes?: Buffer): ImageProblem {
  const why = firstLine(e);
  if ((bytes && endsEarly(bytes)) || /premature end|truncat|unexpected end|not enough data/i.test(why))
    return problem(path, 'truncated', `image data is cut short (${why}); the file is incomplete: copy or download it again`);
  return problem(path, 'unreadable', `not a readable image (${why}); re-save it as PNG, JPEG or WebP, or remove it`);
}

/**
 * Reads, validates and fully decodes one image file. Decoding everything is the only way to
 * find truncated files before training; the pixels feed the duplicate hashes.
 */
export async function checkImage(path: string): Promise<{ image: CheckedImage } | { problem: ImageProblem }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    return { problem: problem(path, 'missing', `cannot be read (${firstLine(e)}); check that it exists and is readable`) };
  }
  if (bytes.length === 0) return { problem: problem(path, 'zero-byte', 'empty file (0 bytes); copy the image again or remove it') };

  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    const ext = extname(path).toLowerCase();
    if (ext === '.bmp' && bytes.subarray(0, 2).toString('latin1') === 'BM')
      return {
        problem: problem(path, 'unsupported-format', 'BMP images are not decoded by lyco; convert it to PNG (same name, .png)'),
      };
    return { problem: decodeProblem(path, e, bytes) };
  }

  const ext = extname(path).toLowerCase();
  const expected = FORMAT_OF_EXTENSION[ext];
  if (expected && meta.format !== expected) {
    const right = EXTENSION_OF_FORMAT[meta.format] ?? `.${meta.format}`;
    const stem = basename(path, extname(path));
    return {
      problem: problem(
        path,
        'wrong-extension',
        `the file is ${meta.format.toUpperCase()} but its name ends in ${extname(path)}; rename it to ${stem}${right}`,
      ),
    };
  }

  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w * h > MAX_IMAGE_PIXELS)
    return {
      problem: problem(
        path,
        'huge-dimension',
        `${w}x${h} is ${(w * h).toLocaleString('en-US')} pixels, over the ${MAX_IMAGE_PIXELS.toLocaleString('en-US')}-pixel limit; downscale it (4096 px on the long side is plenty)`,
      ),
    };

  let pixels: RgbImage;
  try {
    pixels = await toRgb(openImage(bytes));
  } catch (e) {
    return { problem: decodeProblem(path, e, bytes) };
  }
  return { image: { path, bytes, format: meta.format, width: pixels.width, height: pixels.height, pixels } };
}
