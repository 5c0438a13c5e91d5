// `lyco dedupe DIR`: every image under DIR checked, fingerprinted and grouped.
import { type DedupeOptions, type DuplicateReport, findDuplicates } from './dedupe.ts';
import { listImagesRecursive } from './image-files.ts';
import type { ImageProblem } from './image-problems.ts';
import type { ProgressOption } from './progress.ts';
import { scanImages } from './scan-images.ts';

export interface DirectoryDedupe {
  report: DuplicateReport;
  /** files that could not be checked (one line each); they take no part in the groups */
  problems: ImageProblem[];
}

export async function dedupeDirectory(dir: string, opts: DedupeOptions & { progress?: ProgressOption } = {}): Promise<DirectoryDedupe> {
  const paths = listImagesRecursive(dir);
  const scan = await scanImages(paths, { progress: opts.progress, label: 'hashing images' });
  return {
    report: findDuplicates(
      scan.images.map((i) => i.fingerprint),
      opts,
    ),
    problems: scan.problems,
  };
}
