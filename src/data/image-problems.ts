// Bad images are reported one line each (the file, what is wrong, what to do) and skipped;
// under `strict` the whole list is shown and loading refuses. Never a crash midway.

export type ImageProblemKind =
  | 'missing'
  | 'zero-byte'
  | 'unreadable'
  | 'truncated'
  | 'wrong-extension'
  | 'unsupported-format'
  | 'huge-dimension'
  | 'too-small';

export interface ImageProblem {
  path: string;
  kind: ImageProblemKind;
  /** one line: the file, the problem, the fix */
  message: string;
}

/** Loading refused: the message lists every problem, one per line. */
export class DatasetError extends Error {
  constructor(
    message: string,
    readonly problems: readonly ImageProblem[] = [],
  ) {
    super(message);
    this.name = 'DatasetError';
  }
}

export function problem(path: string, kind: ImageProblemKind, what: string): ImageProblem {
  return { path, kind, message: `${path}: ${what}` };
}

/** First line of a library error: sharp joins libvips' log lines with newlines. */
export function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].trim();
}

/**
 * Skip the images with problems (printing a line each), or refuse under strict.
 * Returns the lines to print so callers decide where output goes.
 */
export function applyProblemPolicy(problems: readonly ImageProblem[], strict: boolean): string[] {
  if (problems.length === 0) return [];
  const lines = problems.map((p) => p.message);
  if (strict)
    throw new DatasetError(
      `${problems.length} image(s) cannot be used and strict is set; fix or remove them, or run without strict to skip them:\n${lines.join('\n')}`,
      problems,
    );
  return [...lines, `skipped ${problems.length} image(s) listed above; training goes on with the rest`];
}
