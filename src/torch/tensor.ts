// The Tensor class: a number (the addon's slot id) plus the methods people expect from PyTorch,
// in camelCase. Each method returns a new tensor; methods ending in _ work in place and return
// this. Nothing here frees its inputs: lifetime is scope()/dispose() (see lifetime.ts).
import { type DType, dtypeCode, dtypeName, type HostArray, hostArray } from './dtype.ts';
import * as ops from './generated/ops.ts';
import { keep, setTensorCheck, track } from './lifetime.ts';
import { native } from './native.ts';

export type Scalar = number | boolean;
export type Dim = number | number[];

/** An index for Tensor.index(): a number selects, a [start, end, step?] slice, null keeps a dim. */
export type IndexItem = number | null | [number | null, (number | null)?, number?] | Tensor;

export class Tensor {
  readonly id: number;
  kept = false;

  /** Internal: tensors come from factories and ops, not `new`. */
  private constructor(id: number) {
    this.id = id;
  }

  static fromId(id: number): Tensor {
    return track(new Tensor(id));
  }

  // ---- metadata
  get shape(): number[] {
    return native.shape(this.id);
  }
  get dtype(): DType {
    return dtypeName(native.dtype(this.id));
  }
  get device(): string {
    return native.device(this.id);
  }
  get ndim(): number {
    return native.dim(this.id);
  }
  dim(): number {
    return native.dim(this.id);
  }
  numel(): number {
    return native.numel(this.id);
  }
  size(dim?: number): number {
    const s = this.shape;
    if (dim === undefined) return s.reduce((a, b) => a * b, 1);
    return s[dim < 0 ? dim + s.length : dim];
  }
  stride(): number[] {
    return native.strides(this.id);
  }
  isContiguous(): boolean {
    return native.isContiguous(this.id);
  }
  get isDisposed(): boolean {
    return native.isDisposed(this.id);
  }
  /** Identity of the underlying storage: equal for views of one tensor. */
  storageId(): number | undefined {
    return native.storageId(this.id);
  }
  toString(): string {
    if (this.isDisposed) return 'Tensor(<disposed>)';
    const dev = this.device === 'cpu' ? '' : `, device=${this.device}`;
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}${dev}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- lifetime
  dispose(): void {
    native.dispose(this.id);
  }
  keep(): this {
    return keep(this);
  }

  // ---- host data
  /** A copy of the elements as a typed array (float16/bfloat16 as Uint16Array bits). */
  data(): HostArray {
    return hostArray(this.dtype, native.toBuffer(this.id));
  }
  /** Elements as plain numbers (int64 converted; float16/bfloat16 converted through float32). */
  toArray(): number[] {
    const d = this.dtype;
    if (d === 'float16' || d === 'bfloat16') {
      const f = this.to('float32');
      try {
        return Array.from(f.data() as Float32Array);
      } finally {
        f.dispose();
      }
    }
    const a = this.data();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a as ArrayLike<number>);
  }
  item(): number {
    const v = native.item(this.id);
    return typeof v === 'boolean' ? Number(v) : v;
  }

  // ---- autograd
  get requiresGrad(): boolean {
    return native.requiresGrad(this.id);
  }
  set requiresGrad(v: boolean) {
    native.setRequiresGrad(this.id, v);
  }
  requiresGrad_(v = true): this {
    native.setRequiresGrad(this.id, v);
    return this;
  }
  /** The accumulated gradient (a new handle each read), or undefined. */
  get grad(): Tensor | undefined {
    const g = native.grad(this.id);
    return g === undefined ? undefined : Tensor.fromId(g);
  }
  set grad(g: Tensor | undefined) {
    native.setGrad(this.id, g?.id);
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.id);
  }
  retainGrad(): this {
    native.retainGrad(this.id);
    return this;
  }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward(this.id, gradient?.id, opts.retainGraph, opts.createGraph);
  }
  detach(): Tensor {
    return ops.detach(this);
  }

  // ---- conversion
  to(target: DType | string | { dtype?: DType; device?: string }, opts: { copy?: boolean } = {}): Tensor {
    let dtype: DType | undefined;
    let device: string | undefined;
    if (typeof target === 'string') {
      if (isDType(target)) dtype = target;
      else device = target;
    } else {
      dtype = target.dtype;
      device = target.device;
    }
    return ops.to_dtype_layout(this, dtype ?? null, null, device ?? null, null, false, opts.copy ?? false);
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  half(): Tensor {
    return this.to('float16');
  }
  bfloat16(): Tensor {
    return this.to('bfloat16');
  }
  long(): Tensor {
    return this.to('int64');
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  cuda(index = 0): Tensor {
    return this.to(`cuda:${index}`);
  }
  contiguous(): Tensor {
    return ops.contiguous(this);
  }
  clone(): Tensor {
    return ops.clone(this);
  }
  typeAs(other: Tensor): Tensor {
    return ops.type_as(this, other);
  }

  // ---- shape
  reshape(...shape: number[] | [number[]]): Tensor {
    return ops.reshape(this, flat(shape));
  }
  view(...shape: number[] | [number[]]): Tensor {
    return ops.view(this, flat(shape));
  }
  viewAs(other: Tensor): Tensor {
    return ops.view_as(this, other);
  }
  permute(...dims: number[] | [number[]]): Tensor {
    return ops.permute(this, flat(dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return ops.transpose_int(this, dim0, dim1);
  }
  /** Transpose of a matrix (2-D); for batches use transpose(-2, -1). */
  t(): Tensor {
    return ops.t(this);
  }
  get T(): Tensor {
    return this.ndim < 2 ? ops.t(this) : this.permute([...Array(this.ndim).keys()].reverse());
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return ops.flatten_using_ints(this, startDim, endDim);
  }
  unflatten(dim: number, sizes: number[]): Tensor {
    return ops.unflatten_int(this, dim, sizes);
  }
  unsqueeze(dim: number): Tensor {
    return ops.unsqueeze(this, dim);
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? ops.squeeze(this) : ops.squeeze_dim(this, dim);
  }
  expand(...shape: number[] | [number[]]): Tensor {
    return ops.expand(this, flat(shape));
  }
  expandAs(other: Tensor): Tensor {
    return ops.expand_as(this, other);
  }
  repeat(...times: number[] | [number[]]): Tensor {
    return ops.repeat(this, flat(times));
  }
  repeatInterleave(repeats: number, dim?: number): Tensor {
    return ops.repeat_interleave_self_int(this, repeats, dim ?? null);
  }
  flip(dims: Dim): Tensor {
    return ops.flip(this, typeof dims === 'number' ? [dims] : dims);
  }
  roll(shifts: Dim, dims: Dim = []): Tensor {
    return ops.roll(this, typeof shifts === 'number' ? [shifts] : shifts, typeof dims === 'number' ? [dims] : dims);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return ops.chunk(this, chunks, dim);
  }
  split(size: number | number[], dim = 0): Tensor[] {
    return typeof size === 'number' ? ops.split_Tensor(this, size, dim) : ops.split_with_sizes(this, size, dim);
  }
  unbind(dim = 0): Tensor[] {
    return ops.unbind_int(this, dim);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return ops.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return ops.select_int(this, dim, index);
  }
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return ops.slice_Tensor(this, dim, start ?? null, end ?? null, step);
  }
  /**
   * Basic and advanced indexing, like Python's t[...]: numbers select (dropping the dim),
   * [start, end, step] slices, null keeps a dim whole, a Tensor indexes (int64 or bool mask).
   */
  index(...items: IndexItem[]): Tensor {
    let cur: Tensor = this;
    const made: Tensor[] = [];
    let dim = 0;
    const tensorIdx: (Tensor | null)[] = [];
    let useAdvanced = false;
    for (const it of items) {
      if (it instanceof Tensor) {
        while (tensorIdx.length < dim) tensorIdx.push(null);
        tensorIdx.push(it);
        useAdvanced = true;
        dim++;
      } else if (typeof it === 'number') {
        if (useAdvanced) throw new TypeError('index(): put number indices before tensor indices');
        cur = cur.select(dim, it);
        made.push(cur);
      } else if (it === null) {
        dim++;
      } else {
        const [s, e, st] = it;
        cur = cur.slice(dim, s ?? null, e ?? null, st ?? 1);
        made.push(cur);
        dim++;
      }
    }
    if (useAdvanced) {
      const r = ops.index_Tensor(cur, tensorIdx);
      for (const m of made) m.dispose();
      return r;
    }
    for (const m of made.slice(0, -1)) m.dispose();
    return cur === this ? ops.alias(this) : cur;
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return ops.index_select(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return ops.gather(this, dim, index);
  }
  maskedFill(mask: Tensor, value: Scalar): Tensor {
    return ops.masked_fill_Scalar(this, mask, value);
  }
  maskedFill_(mask: Tensor, value: Scalar): this {
    ops.masked_fill__Scalar(this, mask, value);
    return this;
  }
  tril(diagonal = 0): Tensor {
    return ops.tril(this, diagonal);
  }
  triu(diagonal = 0): Tensor {
    return ops.triu(this, diagonal);
  }

  // ---- arithmetic (broadcasting; a number is a Scalar operand)
  add(other: Tensor | Scalar, alpha?: Scalar): Tensor {
    return other instanceof Tensor ? ops.add_Tensor(this, other, alpha) : ops.add_Scalar(this, other, alpha);
  }
  sub(other: Tensor | Scalar, alpha?: Scalar): Tensor {
    return other instanceof Tensor ? ops.sub_Tensor(this, other, alpha) : ops.sub_Scalar(this, other, alpha);
  }
  mul(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? ops.mul_Tensor(this, other) : ops.mul_Scalar(this, other);
  }
  div(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? ops.div_Tensor(this, other) : ops.div_Scalar(this, other);
  }
  pow(exponent: Tensor | Scalar): Tensor {
    return exponent instanceof Tensor ? ops.pow_Tensor_Tensor(this, exponent) : ops.pow_Tensor_Scalar(this, exponent);
  }
  remainder(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? ops.remainder_Tensor(this, other) : ops.remainder_Scalar(this, other);
  }
  maximum(other: Tensor): Tensor {
    return ops.maximum(this, other);
  }
  minimum(other: Tensor): Tensor {
    return ops.minimum(this, other);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  log1p(): Tensor {
    return ops.log1p(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }
  floor(): Tensor {
    return ops.floor(this);
  }
  round(): Tensor {
    return ops.round(this);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return ops.clamp(this, min ?? null, max ?? null);
  }
  lerp(end: Tensor, weight: Tensor | number): Tensor {
    return weight instanceof Tensor ? ops.lerp_Tensor(this, end, weight) : ops.lerp_Scalar(this, end, weight);
  }
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  mm(other: Tensor): Tensor {
    return ops.mm(this, other);
  }
  bmm(other: Tensor): Tensor {
    return ops.bmm(this, other);
  }
  // comparisons
  eq(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? ops.eq_Tensor(this, other) : ops.eq_Scalar(this, other);
  }
  ne(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? ops.ne_Tensor(this, other) : ops.ne_Scalar(this, other);
  }
  gt(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? ops.gt_Tensor(this, other) : ops.gt_Scalar(this, other);
  }
  ge(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? ops.ge_Tensor(this, other) : ops.ge_Scalar(this, other);
  }
  lt(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? ops.lt_Tensor(this, other) : ops.lt_Scalar(this, other);
  }
  le(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? ops.le_Tensor(this, other) : ops.le_Scalar(this, other);
  }
  isnan(): Tensor {
    return ops.isnan(this);
  }
  isfinite(): Tensor {
    return ops.isfinite(this);
  }

  // ---- reductions (dim omitted: over all elements)
  sum(dim?: Dim, keepdim = false, dtype?: DType): Tensor {
    return dim === undefined ? ops.sum(this, dtype ?? null) : ops.sum_dim_IntList(this, dim, keepdim, dtype ?? null);
  }
  mean(dim?: Dim, keepdim = false): Tensor {
    return dim === undefined ? ops.mean(this) : ops.mean_dim(this, dim, keepdim);
  }
  amax(dim: Dim = [], keepdim = false): Tensor {
    return ops.amax(this, dim, keepdim);
  }
  amin(dim: Dim = [], keepdim = false): Tensor {
    return ops.amin(this, dim, keepdim);
  }
  /** Largest element, or with dim: [values, indices] along it. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): [Tensor, Tensor];
  max(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? ops.max(this) : ops.max_dim(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): [Tensor, Tensor];
  min(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? ops.min(this) : ops.min_dim(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return ops.argmax(this, dim ?? null, keepdim);
  }
  /** Variance with Bessel's correction by default (correction=1), as torch. */
  var(dim?: Dim, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return ops.var_correction(this, dim ?? null, opts.correction ?? 1, opts.keepdim ?? false);
  }
  std(dim?: Dim, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return ops.std_correction(this, dim ?? null, opts.correction ?? 1, opts.keepdim ?? false);
  }
  /** Vector p-norm over dims (all by default). */
  norm(p = 2, dim?: Dim, keepdim = false): Tensor {
    return ops.linalg_vector_norm(this, p, dim ?? null, keepdim);
  }
  prod(dtype?: DType): Tensor {
    return ops.prod(this, dtype ?? null);
  }
  cumsum(dim: number): Tensor {
    return ops.cumsum(this, dim);
  }
  cumprod(dim: number): Tensor {
    return ops.cumprod(this, dim);
  }
  all(): Tensor {
    return ops.all(this);
  }
  any(): Tensor {
    return ops.any(this);
  }
  softmax(dim: number): Tensor {
    return ops.softmax_int(this, dim);
  }

  // ---- in place (return this)
  add_(other: Tensor | Scalar, alpha?: Scalar): this {
    if (other instanceof Tensor) ops.add__Tensor(this, other, alpha);
    else ops.add__Scalar(this, other, alpha);
    return this;
  }
  sub_(other: Tensor | Scalar, alpha?: Scalar): this {
    if (other instanceof Tensor) ops.sub__Tensor(this, other, alpha);
    else ops.sub__Scalar(this, other, alpha);
    return this;
  }
  mul_(other: Tensor | Scalar): this {
    if (other instanceof Tensor) ops.mul__Tensor(this, other);
    else ops.mul__Scalar(this, other);
    return this;
  }
  div_(other: Tensor | Scalar): this {
    if (other instanceof Tensor) ops.div__Tensor(this, other);
    else ops.div__Scalar(this, other);
    return this;
  }
  addcmul_(t1: Tensor, t2: Tensor, value: Scalar = 1): this {
    ops.addcmul_(this, t1, t2, value);
    return this;
  }
  addcdiv_(t1: Tensor, t2: Tensor, value: Scalar = 1): this {
    ops.addcdiv_(this, t1, t2, value);
    return this;
  }
  lerp_(end: Tensor, weight: Tensor | number): this {
    if (weight instanceof Tensor) ops.lerp__Tensor(this, end, weight);
    else ops.lerp__Scalar(this, end, weight);
    return this;
  }
  clamp_(min?: number | null, max?: number | null): this {
    ops.clamp_(this, min ?? null, max ?? null);
    return this;
  }
  sqrt_(): this {
    ops.sqrt_(this);
    return this;
  }
  neg_(): this {
    ops.neg_(this);
    return this;
  }
  copy_(src: Tensor): this {
    ops.copy_(this, src);
    return this;
  }
  zero_(): this {
    ops.zero_(this);
    return this;
  }
  fill_(value: Scalar): this {
    ops.fill__Scalar(this, value);
    return this;
  }
  normal_(mean = 0, std = 1, generator?: import('./random.ts').Generator): this {
    ops.normal_(this, mean, std, generator ?? null);
    return this;
  }
  uniform_(from = 0, to = 1, generator?: import('./random.ts').Generator): this {
    ops.uniform_(this, from, to, generator ?? null);
    return this;
  }
}

const DTYPES = new Set(['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool']);
function isDType(s: string): s is DType {
  return DTYPES.has(s);
}

function flat(a: number[] | [number[]]): number[] {
  return Array.isArray(a[0]) ? (a[0] as number[]) : (a as number[]);
}

setTensorCheck((x: unknown): x is Tensor => x instanceof Tensor);
void dtypeCode;
