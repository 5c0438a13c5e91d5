// safetensors read/write. Reading validates the header the way the reference implementation does
// (length cap, UTF-8 JSON, dtype names, shapes vs byte ranges, contiguous ranges inside the file)
// and maps the file: tensors are views of the mapping, never copied through JS. Writing streams
// the header and each tensor's bytes to a temporary name, fsyncs, then renames.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type DType, dtypeCode, elementSize } from './dtype.ts';
import { native } from './native.ts';
import { Tensor } from './tensor.ts';

const MAX_HEADER = 100_000_000;

const ST_TO_DTYPE: Record<string, DType> = {
  BOOL: 'bool',
  U8: 'uint8',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
  I64: 'int64',
  F16: 'float16',
  BF16: 'bfloat16',
  F32: 'float32',
  F64: 'float64',
};
const DTYPE_TO_ST = Object.fromEntries(Object.entries(ST_TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, string>;
// Known to the format but without a libtorch 1.13 dtype: named in the error instead of "unknown".
const UNSUPPORTED = new Set([
  'U16',
  'U32',
  'U64',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F8_E4M3FNUZ',
  'F8_E5M2FNUZ',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'C64',
]);
const BITS: Record<string, number> = { BOOL: 8, U8: 8, I8: 8, I16: 16, I32: 32, I64: 64, F16: 16, BF16: 16, F32: 32, F64: 64 };

export class SafetensorsError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'SafetensorsError';
  }
}

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface Header {
  path: string;
  /** File offset where tensor data starts (8 + header length). */
  dataStart: number;
  fileSize: number;
  tensors: TensorInfo[];
  metadata: Record<string, string>;
}

function readExact(fd: number, len: number, pos: number): Buffer {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

const isNonNegInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Reads and validates the header without touching tensor data. */
export function readHeader(path: string): Header {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new SafetensorsError(path, `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const fileSize = fstatSync(fd).size;
    const fail = (d: string): never => {
      throw new SafetensorsError(path, `${d}; the file is not valid safetensors (truncated or corrupt? re-download or re-save it)`);
    };
    if (fileSize < 8) fail(`only ${fileSize} bytes, shorter than the 8-byte header length`);
    const n = readExact(fd, 8, 0).readBigUInt64LE(0);
    if (n > BigInt(MAX_HEADER)) fail(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
    const headerLen = Number(n);
    if (8 + headerLen > fileSize) fail(`header length ${headerLen} runs past the end of the ${fileSize}-byte file`);
    let json: unknown;
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(readExact(fd, headerLen, 8));
      json = JSON.parse(text);
    } catch (e) {
      fail(`header is not UTF-8 JSON (${(e as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header is not a JSON object');
    const metadata: Record<string, string> = {};
    const tensors: TensorInfo[] = [];
    for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('__metadata__ is not an object');
        for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
          if (typeof s !== 'string') fail(`__metadata__ value for '${k}' is not a string`);
          metadata[k] = s as string;
        }
        continue;
      }
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof e !== 'object' || e === null) fail(`entry '${name}' is not an object`);
      if (typeof e.dtype !== 'string') fail(`tensor '${name}' has no dtype`);
      const st = e.dtype as string;
      if (UNSUPPORTED.has(st))
        throw new SafetensorsError(
          path,
          `tensor '${name}' has dtype ${st}, which this libtorch cannot hold; convert the file to F16/BF16/F32`,
        );
      const dtype = ST_TO_DTYPE[st];
      if (!dtype) fail(`tensor '${name}' has unknown dtype '${st}'`);
      if (!Array.isArray(e.shape) || !e.shape.every(isNonNegInt)) fail(`tensor '${name}' has an invalid shape`);
      const off = e.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !isNonNegInt(off[0]) || !isNonNegInt(off[1]) || off[0] > off[1]) {
        fail(`tensor '${name}' has invalid data_offsets`);
      }
      const shape = e.shape as number[];
      const [b, en] = off as [number, number];
      const numel = shape.reduce((a, x) => a * x, 1);
      if (!Number.isSafeInteger(numel) || (numel * BITS[st]) / 8 !== en - b) {
        fail(`tensor '${name}' shape [${shape.join(', ')}] of ${st} does not fill its ${en - b}-byte range`);
      }
      tensors.push({ name, dtype, shape, dataOffsets: [b, en] });
    }
    // Ranges must tile the data section from 0 with no gap or overlap, ending at the file's end.
    const sorted = [...tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
    let end = 0;
    for (const t of sorted) {
      if (t.dataOffsets[0] !== end) fail(`tensor '${t.name}' starts at byte ${t.dataOffsets[0]}, expected ${end} (gap or overlap)`);
      end = t.dataOffsets[1];
    }
    const dataStart = 8 + headerLen;
    if (dataStart + end !== fileSize) fail(`tensor data ends at byte ${dataStart + end} but the file has ${fileSize} bytes`);
    return { path, dataStart, fileSize, tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

/** The tensors of a safetensors file by name, plus its `__metadata__`. */
export class SafetensorsFile extends Map<string, Tensor> {
  constructor(
    readonly path: string,
    readonly metadata: Record<string, string>,
    entries: [string, Tensor][],
  ) {
    super(entries);
  }
  /** Frees every tensor of the file (the mapping goes when the last view dies). */
  dispose(): void {
    for (const t of this.values()) t.dispose();
  }
}

/** Loads a safetensors file as memory-mapped tensors (copy-on-write: in-place edits stay private). */
export function load(path: string): SafetensorsFile {
  const h = readHeader(path);
  const entries = h.tensors.map(
    (t) => [t.dataOffsets[0], t.dataOffsets[1], dtypeCode(t.dtype), t.shape] as [number, number, number, number[]],
  );
  let ids: number[];
  try {
    ids = native.mmapTensors(path, h.dataStart, entries);
  } catch (e) {
    throw new SafetensorsError(path, (e as Error).message.replace(`${path}: `, ''));
  }
  return new SafetensorsFile(
    path,
    h.metadata,
    h.tensors.map((t, i) => [t.name, Tensor.fromId(ids[i])]),
  );
}

/**
 * After a mapped tensor's values were copied out (loading a checkpoint into a model): drops its
 * resident pages, so the file does not sit in RSS beside the model until it is unmapped. Its
 * values read as the file's again; a no-op (false) for tensors that are not file-mapped.
 */
export function releaseMappedPages(t: Tensor): boolean {
  return native.releaseMappedPages(t.id);
}

function diskError(path: string, e: NodeJS.ErrnoException): Error {
  const code = e.code ?? '';
  const why =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'the disk is full; free space or choose another output folder'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied; choose a folder you can write'
        : code === 'ENOENT'
          ? 'the folder does not exist'
          : e.message;
  return new Error(`cannot write ${path}: ${why} (nothing was replaced)`);
}

/**
 * Writes tensors (a Map or a plain object, CPU or CUDA) and string metadata to `path`, through a
 * temporary file renamed into place, so an existing file is never left half-written.
 */
export function save(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`safetensors metadata '${k}' must be a string (got ${typeof v})`);
  }
  // Largest alignment first, then by name (as the reference writer), so views stay aligned.
  const infos = list.map(([name, t]) => {
    if (!(t instanceof Tensor) || t.isDisposed)
      throw new TypeError(`cannot write ${path}: tensor '${name}' is ${t instanceof Tensor ? 'disposed' : 'not a Tensor'}`);
    return { name, t, dtype: t.dtype, shape: t.shape };
  });
  infos.sort((a, b) => elementSize(b.dtype) - elementSize(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const i of infos) {
    const bytes = i.shape.reduce((a, x) => a * x, 1) * elementSize(i.dtype);
    header[i.name] = { dtype: DTYPE_TO_ST[i.dtype], shape: i.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));

  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw diskError(path, e as NodeJS.ErrnoException);
  }
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    for (const i of infos) native.writeTensor(fd, i.t.id);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {}
    try {
      unlinkSync(tmp);
    } catch {}
    throw diskError(path, e as NodeJS.ErrnoException);
  }
}
