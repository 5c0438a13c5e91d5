// Loads the addon (native/build/Release/lyco.node) and types its functions. Tensors cross the
// boundary as numeric ids into the addon's slot table; src/torch/tensor.ts gives them a class.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeGenerator {
  readonly __generator: unique symbol;
}

export interface ArgInfo {
  name: string;
  type: string;
  n?: number;
  default?: string;
  kwargOnly?: boolean;
  writes?: boolean;
}

export interface OpSchema {
  name: string;
  overload: string;
  args: ArgInfo[];
  returns: ArgInfo[];
  schema: string;
}

export interface BuildInfo {
  torchVersion: string;
  cxx11Abi: number;
  builtWithCuda: boolean;
  blas: string;
  /** 'retained': glibc keeps large tensors on the heap (native/src/malloc.cc); 'system': LYCO_MALLOC=system. */
  malloc: 'retained' | 'system';
  config: string;
}

export interface Native {
  // biome-ignore lint/suspicious/noExplicitAny: boxed results are typed by the generated wrappers
  call(op: number, flags: number, ...args: unknown[]): any;
  op(name: string, overload: string): number;
  schemas(): OpSchema[];
  shape(id: number): number[];
  strides(id: number): number[];
  dim(id: number): number;
  numel(id: number): number;
  dtype(id: number): number;
  device(id: number): string;
  isContiguous(id: number): boolean;
  storageId(id: number): number | undefined;
  dispose(id: number): boolean;
  disposeMany(ids: number[]): number;
  isDisposed(id: number): boolean;
  requiresGrad(id: number): boolean;
  setRequiresGrad(id: number, value: boolean): void;
  isLeaf(id: number): boolean;
  grad(id: number): number | undefined;
  setGrad(id: number, grad: number | undefined): void;
  retainGrad(id: number): void;
  backward(id: number, grad?: number, retainGraph?: boolean, createGraph?: boolean): void;
  item(id: number): number | boolean;
  toBuffer(id: number): ArrayBuffer;
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: number, device?: string): number;
  liveHandles(): number;
  externalBytes(): number;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  Generator: new (device: string, seed?: number) => NativeGenerator;
  generatorSeed(g: NativeGenerator, seed?: number): number;
  getRngState(g?: NativeGenerator): number;
  setRngState(state: number, g?: NativeGenerator): void;
  /** Starts libtorch's op profiler writing a chrome trace to path; without a path, stops and writes it. */
  profile(path?: string): void;
  gradEnabled(): boolean;
  setGradEnabled(enabled: boolean): boolean;
  setAutocast(deviceType: 'cpu' | 'cuda', enabled: boolean, dtype: number): [boolean, number];
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(device?: number): void;
  buildInfo(): BuildInfo;
  mmapTensors(path: string, dataStart: number, entries: [number, number, number, number[]][]): number[];
  writeTensor(fd: number, id: number): number;
  /** Drops the resident pages of a file-mapped tensor (its values read as the file again); false when not mapped. */
  releaseMappedPages(id: number): boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
const addonPath = process.env.LYCO_NATIVE ?? join(here, '..', '..', 'native', 'build', 'Release', 'lyco.node');

function load(): Native {
  if (!existsSync(addonPath)) {
    throw new Error(`lyco: native addon not built (${addonPath} is missing); run \`bash scripts/bootstrap.sh\``);
  }
  // libtorch's OpenMP threads (conv, norms, elementwise) spin for a while after each parallel
  // region by default, while OpenBLAS runs matmuls on its own pthreads: on a machine with few
  // cores the two fight over them, and a full-size SD1.5 UNet step took 2.7x as long (bench/models,
  // both in Python torch and in lyco). Passive OpenMP workers sleep at once. libgomp reads this
  // when it loads with the addon, so it is set here, before; a value the user set is kept.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  const require = createRequire(import.meta.url);
  const n = require(addonPath) as Native;
  // Intra-op threads: libtorch defaults to 1 on small machines; use the cores this process may use.
  const threads = Number(process.env.LYCO_NUM_THREADS ?? availableParallelism());
  if (threads >= 1) n.setNumThreads(threads);
  return n;
}

export const native: Native = load();
