// Which files are training images: sd-scripts' IMAGE_EXTENSIONS (png, jpg, jpeg, webp, bmp,
// and avif when its plugin is present), matched case-insensitively so a folder behaves the same
// on Linux as on Windows (sd-scripts' glob is case-sensitive on Linux and misses `.Jpg`).
import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.avif'] as const;

/** sharp's `metadata().format` for each extension (avif is decoded by the heif loader). */
export const FORMAT_OF_EXTENSION: Record<string, string> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.bmp': 'bmp',
  '.avif': 'heif',
};

/** The extension a file of sharp format `format` should have. */
export const EXTENSION_OF_FORMAT: Record<string, string> = {
  png: '.png',
  jpeg: '.jpg',
  webp: '.webp',
  heif: '.avif',
  gif: '.gif',
  tiff: '.tif',
  bmp: '.bmp',
};

export function isImageFile(name: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

/** Image files directly in `dir`, sorted by path (sd-scripts' glob_images: not recursive). */
export function listImages(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && isImageFile(d.name))
    .map((d) => join(dir, d.name))
    .sort(comparePaths);
}

/** Image files under `dir` at any depth, sorted (for `lyco dedupe DIR`). */
export function listImagesRecursive(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && isImageFile(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort(comparePaths);
}

/** Plain string order, as Python sorts paths (differs only for characters beyond U+FFFF). */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
