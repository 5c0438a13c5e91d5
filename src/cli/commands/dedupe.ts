// `lyco dedupe DIR [--json] [--threshold N]`: reports exact and near-duplicate images.
import { statSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { CROP_CHECK_MAX_DISTANCE, DEFAULT_PHASH_THRESHOLD, formatDuplicateReport } from '../../data/dedupe.ts';
import { dedupeDirectory } from '../../data/dedupe-dir.ts';

function parseThreshold(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 64)
    throw new InvalidArgumentError('an integer from 0 to 64 (bits of the 64-bit pHash) is expected');
  return n;
}

export function register(program: Command): void {
  program
    .command('dedupe')
    .description('find exact and near-duplicate images under DIR (all subfolders)')
    .argument('<dir>', 'dataset folder')
    .option('--json', 'print {"groups": [[path, ...], ...], "pairs": [...], "problems": [...]} on stdout')
    .option(
      '--threshold <bits>',
      `pHash Hamming distance counted as a near duplicate (default ${DEFAULT_PHASH_THRESHOLD})`,
      parseThreshold,
      DEFAULT_PHASH_THRESHOLD,
    )
    .option('--no-crop-check', `do not confirm pairs up to ${CROP_CHECK_MAX_DISTANCE} bits as crops of each other`)
    .action(async (dir: string, o: { json?: boolean; threshold: number; cropCheck: boolean }) => {
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${dir}: not a folder; pass the dataset folder`);
      const { report, problems } = await dedupeDirectory(dir, {
        threshold: o.threshold,
        cropCheck: o.cropCheck,
        progress: o.json ? false : undefined,
      });
      if (o.json) {
        const out = {
          groups: report.groups,
          pairs: report.pairs,
          threshold: report.threshold,
          images: report.images,
          problems: problems.map((p) => ({ path: p.path, kind: p.kind, message: p.message })),
        };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      for (const p of problems) console.error(p.message);
      for (const line of formatDuplicateReport(report)) console.log(line);
    });
}
