// Tensor factories: from JS values, constants, ranges and seeded random draws.
import { type DType, dtypeCode, dtypeOfArray } from './dtype.ts';
import * as ops from './generated/ops.ts';
import { native } from './native.ts';
import type { Generator } from './random.ts';
import { Tensor } from './tensor.ts';

export interface FactoryOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts: FactoryOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

type Nested = number | boolean | bigint | Nested[];

function inferShape(v: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as Nested;
  }
  return shape;
}

function flatten(v: Nested, shape: number[], depth: number, out: (number | boolean | bigint)[]): void {
  if (depth === shape.length) {
    if (Array.isArray(v)) throw new TypeError('tensor(): ragged nested array (sub-arrays of different depth)');
    out.push(v);
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[depth]) {
    throw new TypeError(`tensor(): ragged nested array at depth ${depth} (expected length ${shape[depth]})`);
  }
  for (const x of v) flatten(x, shape, depth + 1, out);
}

function toHost(values: (number | boolean | bigint)[], dtype: DType): ArrayBufferView {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values, Number);
    case 'float64':
      return Float64Array.from(values, Number);
    case 'int64':
      return BigInt64Array.from(values, (x) => (typeof x === 'bigint' ? x : BigInt(Math.trunc(Number(x)))));
    case 'int32':
      return Int32Array.from(values, Number);
    case 'int16':
      return Int16Array.from(values, Number);
    case 'int8':
      return Int8Array.from(values, Number);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values, (x) => Number(x));
    case 'float16':
    case 'bfloat16':
      // Built as float32, then converted by libtorch (round to nearest even).
      return Float32Array.from(values, Number);
  }
}

/**
 * torch.tensor: from a nested array (dtype float32 unless given; booleans give bool, bigints
 * int64) or from a TypedArray with an explicit shape (dtype from the array type).
 */
export function tensor(values: Nested | ArrayBufferView, opts: FactoryOptions & { shape?: number[] } = {}): Tensor {
  if (ArrayBuffer.isView(values)) {
    const dtype = opts.dtype ?? dtypeOfArray(values);
    const shape = opts.shape ?? [(values as unknown as ArrayLike<unknown>).length];
    return finish(fromTypedArray(values, shape, { ...opts, dtype }), opts);
  }
  const shape = inferShape(values);
  const flatVals: (number | boolean | bigint)[] = [];
  flatten(values, shape, 0, flatVals);
  const first = flatVals[0];
  const dtype = opts.dtype ?? (typeof first === 'boolean' ? 'bool' : typeof first === 'bigint' ? 'int64' : 'float32');
  const host = toHost(flatVals, dtype);
  const hostDtype = dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
  let t = Tensor.fromId(native.fromBuffer(host, opts.shape ?? shape, dtypeCode(hostDtype), opts.device));
  if (hostDtype !== dtype) t = t.to(dtype);
  return finish(t, opts);
}

/** A tensor holding a copy of a TypedArray's elements (float16/bfloat16 from Uint16Array bits). */
export function fromTypedArray(data: ArrayBufferView, shape: number[], opts: FactoryOptions = {}): Tensor {
  const dtype = opts.dtype ?? dtypeOfArray(data);
  return finish(Tensor.fromId(native.fromBuffer(data, shape, dtypeCode(dtype), opts.device)), opts);
}

const dt = (o: FactoryOptions) => o.dtype ?? 'float32';

export function zeros(shape: number[], opts: FactoryOptions = {}): Tensor {
  return finish(ops.zeros(shape, dt(opts), null, opts.device ?? null), opts);
}
export function ones(shape: number[], opts: FactoryOptions = {}): Tensor {
  return finish(ops.ones(shape, dt(opts), null, opts.device ?? null), opts);
}
export function full(shape: number[], value: number | boolean, opts: FactoryOptions = {}): Tensor {
  return finish(ops.full(shape, value, dt(opts), null, opts.device ?? null), opts);
}
export function empty(shape: number[], opts: FactoryOptions = {}): Tensor {
  return finish(ops.empty_memory_format(shape, dt(opts), null, opts.device ?? null), opts);
}
export function eye(n: number, opts: FactoryOptions = {}): Tensor {
  return finish(ops.eye(n, dt(opts), null, opts.device ?? null), opts);
}
export function zerosLike(t: Tensor, opts: FactoryOptions = {}): Tensor {
  return finish(ops.zeros_like(t, opts.dtype ?? null, null, opts.device ?? null), opts);
}
export function onesLike(t: Tensor, opts: FactoryOptions = {}): Tensor {
  return finish(ops.ones_like(t, opts.dtype ?? null, null, opts.device ?? null), opts);
}
export function fullLike(t: Tensor, value: number, opts: FactoryOptions = {}): Tensor {
  return finish(ops.full_like(t, value, opts.dtype ?? null, null, opts.device ?? null), opts);
}

/** arange(end) or arange(start, end, step?), float32 unless dtype is given. */
export function arange(start: number, end?: number, step = 1, opts: FactoryOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  return finish(ops.arange_start_step(s, e, step, dt(opts), null, opts.device ?? null), opts);
}
export function linspace(start: number, end: number, steps: number, opts: FactoryOptions = {}): Tensor {
  return finish(ops.linspace(start, end, steps, dt(opts), null, opts.device ?? null), opts);
}

export interface RandomOptions extends FactoryOptions {
  generator?: Generator;
}

/** Standard normal draws; seeded by manualSeed() or an explicit generator. */
export function randn(shape: number[], opts: RandomOptions = {}): Tensor {
  return finish(ops.randn_generator(shape, opts.generator ?? null, dt(opts), null, opts.device ?? null), opts);
}
/** Uniform draws in [0, 1). */
export function rand(shape: number[], opts: RandomOptions = {}): Tensor {
  return finish(ops.rand_generator(shape, opts.generator ?? null, dt(opts), null, opts.device ?? null), opts);
}
/** Integers in [low, high), int64 unless dtype is given. */
export function randint(low: number, high: number, shape: number[], opts: RandomOptions = {}): Tensor {
  return finish(
    ops.randint_low_generator(low, high, shape, opts.generator ?? null, opts.dtype ?? 'int64', null, opts.device ?? null),
    opts,
  );
}
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  return finish(ops.randperm_generator(n, opts.generator ?? null, opts.dtype ?? 'int64', null, opts.device ?? null), opts);
}
export function randnLike(t: Tensor, opts: RandomOptions = {}): Tensor {
  if (opts.generator) return randn(t.shape, { dtype: t.dtype, device: t.device, ...opts });
  return finish(ops.randn_like(t, opts.dtype ?? null, null, opts.device ?? null), opts);
}
