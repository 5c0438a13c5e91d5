// From blueprint to a bucketed dataset: list each subset's images and captions, check and
// fingerprint every image (bad ones skipped with a line each, or refused under strict),
// refuse duplicates unless allowed, balance regularisation images, assign buckets.
import { assignBuckets, type BucketAssignment, type BucketResult } from './assign-buckets.ts';
import type { Size } from './buckets.ts';
import { readCaptionFile } from './captions.ts';
import { type DuplicateReport, findDuplicates, formatDuplicateReport } from './dedupe.ts';
import { listImages } from './image-files.ts';
import { applyProblemPolicy, DatasetError, type ImageProblem, problem } from './image-problems.ts';
import type { ProgressOption } from './progress.ts';
import { scanImages } from './scan-images.ts';
import type { DatasetBlueprint, SubsetParams } from './subset-params.ts';

export interface ImageEntry {
  /** absolute path; also the key */
  path: string;
  subset: SubsetParams;
  isReg: boolean;
  /** repeats per epoch (regularisation images get more to balance the train images) */
  numRepeats: number;
  caption: string;
  /** after EXIF orientation */
  imageSize: Size;
  bucketReso: Size;
  resizedSize: Size;
  /** duplicate-detection fingerprint file hash (also keys the latent cache) */
  fileSha256: string;
}

export interface LoadOptions {
  /** refuse to load when any image is unusable (default: skip them with a line each) */
  strict?: boolean;
  /** go on when duplicates are found (default: refuse and print the groups) */
  allow_duplicates?: boolean;
  /** pHash threshold for near duplicates */
  dedupe_threshold?: number;
  progress?: ProgressOption;
  /** where the one-line notices go (default: console.warn) */
  log?: (line: string) => void;
}

export interface LoadedDataset {
  params: DatasetBlueprint['params'];
  images: ImageEntry[];
  buckets: BucketResult;
  problems: ImageProblem[];
  duplicates: DuplicateReport;
  numTrainImages: number;
  numRegImages: number;
}

export async function loadDataset(bp: DatasetBlueprint, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const log = opts.log ?? ((l: string) => console.warn(l));
  const listed: { path: string; subset: SubsetParams; caption: string }[] = [];
  const seenDirs = new Set<string>();
  for (const subset of bp.subsets) {
    if (subset.num_repeats < 1) {
      log(`${subset.image_dir}: subset ignored, num_repeats ${subset.num_repeats} is less than 1`);
      continue;
    }
    if (seenDirs.has(subset.image_dir)) {
      log(`${subset.image_dir}: subset listed twice; the first one is used`);
      continue;
    }
    seenDirs.add(subset.image_dir);
    let paths: string[];
    try {
      paths = listImages(subset.image_dir);
    } catch (e) {
      throw new DatasetError(`${subset.image_dir}: cannot list the folder (${(e as Error).message.split('\n')[0]}); check image_dir`);
    }
    if (paths.length === 0) {
      log(`${subset.image_dir}: subset ignored, no images found`);
      continue;
    }
    const missing: string[] = [];
    for (const path of paths) {
      let caption = readCaptionFile(path, subset.caption_extension, subset.enable_wildcard);
      if (caption === undefined) {
        missing.push(path);
        caption = subset.class_tokens ?? '';
      }
      listed.push({ path, subset, caption });
    }
    if (missing.length > 0)
      log(
        `${subset.image_dir}: ${missing.length} image(s) have no ${subset.caption_extension} caption file; ${subset.class_tokens ? `the class tokens "${subset.class_tokens}" are used` : 'an empty caption is used'} (first: ${missing[0]})`,
      );
  }

  const scan = await scanImages(
    listed.map((l) => l.path),
    { progress: opts.progress },
  );
  const scanned = new Map(scan.images.map((i) => [i.path, i]));
  const problems = [...scan.problems];

  const duplicates = findDuplicates(
    scan.images.map((i) => i.fingerprint),
    { threshold: opts.dedupe_threshold },
  );
  if (duplicates.groups.length > 0) {
    const lines = formatDuplicateReport(duplicates);
    if (!opts.allow_duplicates)
      throw new DatasetError(
        `${lines.join('\n')}\nduplicates make the model overfit these images; remove them, or train anyway with --allow-duplicates (lyco train; allow_duplicates in the API)`,
      );
    for (const l of lines) log(l);
  }

  // images that reached this point are decodable; bucket problems are added below
  const entries: ImageEntry[] = [];
  let numTrainImages = 0;
  let numRegImages = 0;
  for (const l of listed) {
    const s = scanned.get(l.path);
    if (!s) continue;
    const e: ImageEntry = {
      path: l.path,
      subset: l.subset,
      isReg: l.subset.is_reg,
      numRepeats: l.subset.num_repeats,
      caption: l.caption,
      imageSize: [s.width, s.height],
      bucketReso: [0, 0],
      resizedSize: [0, 0],
      fileSha256: s.fingerprint.fileSha256,
    };
    entries.push(e);
  }

  // sd-scripts registers all train images first, then the reg images: bucket lists follow that order
  entries.sort((a, b) => Number(a.isReg) - Number(b.isReg));
  // a first pass finds the images no bucket can take, so reg balancing counts only usable ones
  const toBucket = (list: ImageEntry[]) =>
    assignBuckets(
      list.map((e) => ({ key: e.path, imageSize: e.imageSize, numRepeats: 0 })),
      bp.params,
    );
  const trial = toBucket(entries);
  for (const p of trial.problems) problems.push(problem(p.key, 'too-small', p.message.slice(p.key.length + 2)));
  for (const line of applyProblemPolicy(problems, opts.strict ?? false)) log(line);

  const images = entries.filter((e) => trial.assignments.has(e.path));
  for (const e of images) {
    if (e.isReg) numRegImages += e.numRepeats;
    else numTrainImages += e.numRepeats;
  }
  balanceRegImages(images, numTrainImages, numRegImages, log);
  // then the real pass over the images in use, so bucket ids match sd-scripts'
  const buckets = toBucket(images);
  for (const w of buckets.warnings) log(w);
  for (const e of images) {
    const a = buckets.assignments.get(e.path) as BucketAssignment;
    e.bucketReso = a.bucketReso;
    e.resizedSize = a.resizedSize;
    for (let i = 0; i < e.numRepeats; i++) buckets.manager.addImage(e.bucketReso, e.path);
  }
  return { params: bp.params, images, buckets, problems, duplicates, numTrainImages, numRegImages };
}

/**
 * sd-scripts uses regularisation images until they match the train images (with repeats):
 * each reg image once with its own repeats, then one more repeat per image in turn.
 */
function balanceRegImages(images: ImageEntry[], numTrain: number, numReg: number, log: (l: string) => void): void {
  const reg = images.filter((e) => e.isReg);
  if (reg.length === 0) return;
  if (numTrain < numReg) log('there are more regularisation images than train images; some are not used');
  const registered = new Set<ImageEntry>();
  let n = 0;
  let first = true;
  while (n < numTrain) {
    for (const e of reg) {
      if (first) {
        registered.add(e);
        n += e.numRepeats;
      } else {
        e.numRepeats += 1;
        n += 1;
      }
      if (n >= numTrain) break;
    }
    first = false;
  }
  // reg images never reached are dropped, as sd-scripts never registers them
  for (let i = images.length - 1; i >= 0; i--) if (images[i].isReg && !registered.has(images[i])) images.splice(i, 1);
}
