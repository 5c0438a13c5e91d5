// Engine facts and knobs: libtorch version, BLAS in use, threads.
import { type BuildInfo, native } from './native.ts';

export function info(): Omit<BuildInfo, 'config'> & { threads: number; cuda: boolean } {
  const { config: _config, ...b } = native.buildInfo();
  return { ...b, threads: native.getNumThreads(), cuda: native.cudaAvailable() };
}
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

/** libtorch's op profiler around fn, written as a chrome trace (chrome://tracing) to `path`. For bench/. */
export function profile<T>(path: string, fn: () => T): T {
  native.profile(path);
  try {
    return fn();
  } finally {
    native.profile();
  }
}
