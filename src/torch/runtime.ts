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
