// The leaf layers Stable Diffusion is made of, with torch's default initialisation (skipped
// inside withoutInit, see ./init.ts). Forward reads weights through get() so a moved or
// reloaded tensor is always the current one.

import type { DType, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import { computesWider, frozenConv2d, frozenLinear, type HalfStorable } from './frozen.ts';
import { paramStorage } from './init.ts';
import { Module } from './module.ts';

const { F } = torch;

/** U(-bound, bound): torch's kaiming_uniform(a=sqrt(5)) for weights and its bias rule both give 1/sqrt(fan_in). */
function uniform(shape: number[], bound: number): Tensor {
  return paramStorage(shape, () =>
    torch.scope(() =>
      torch
        .rand(shape)
        .mul(2 * bound)
        .sub(bound),
    ),
  );
}

export class Linear extends Module implements HalfStorable {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly hasBias = true,
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.param('weight', uniform([outFeatures, inFeatures], bound));
    if (hasBias) this.param('bias', uniform([outFeatures], bound));
  }
  forward(x: Tensor): Tensor {
    const w = this.get('weight');
    const b = this.hasBias ? this.get('bias') : undefined;
    return computesWider(w, x) ? frozenLinear(x, w, b) : F.linear(x, w, b);
  }
  storeHalf(dtype: DType): void {
    this.to({ dtype, recurse: false });
  }
}

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module implements HalfStorable {
  readonly stride: number;
  readonly padding: number;
  readonly groups: number;
  readonly hasBias: boolean;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    o: Conv2dOptions = {},
  ) {
    super();
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? 0;
    this.groups = o.groups ?? 1;
    this.hasBias = o.bias ?? true;
    const bound = 1 / Math.sqrt((inChannels / this.groups) * kernelSize * kernelSize);
    this.param('weight', uniform([outChannels, inChannels / this.groups, kernelSize, kernelSize], bound));
    if (this.hasBias) this.param('bias', uniform([outChannels], bound));
  }
  forward(x: Tensor): Tensor {
    const w = this.get('weight');
    const b = this.hasBias ? this.get('bias') : undefined;
    if (computesWider(w, x)) return frozenConv2d(x, w, b, this.stride, this.padding, this.groups);
    return F.conv2d(x, w, b, { stride: this.stride, padding: this.padding, groups: this.groups });
  }
  storeHalf(dtype: DType): void {
    this.to({ dtype, recurse: false });
  }
}

export class GroupNorm extends Module {
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    readonly eps = 1e-5,
    readonly affine = true,
  ) {
    super();
    if (affine) {
      this.param(
        'weight',
        paramStorage([numChannels], () => torch.ones([numChannels])),
      );
      this.param(
        'bias',
        paramStorage([numChannels], () => torch.zeros([numChannels])),
      );
    }
  }
  forward(x: Tensor): Tensor {
    return this.affine
      ? F.groupNorm(x, this.numGroups, this.get('weight'), this.get('bias'), this.eps)
      : F.groupNorm(x, this.numGroups, undefined, undefined, this.eps);
  }
}

export class LayerNorm extends Module {
  constructor(
    readonly normalizedShape: number[],
    readonly eps = 1e-5,
    readonly elementwiseAffine = true,
  ) {
    super();
    if (elementwiseAffine) {
      this.param(
        'weight',
        paramStorage(normalizedShape, () => torch.ones(normalizedShape)),
      );
      this.param(
        'bias',
        paramStorage(normalizedShape, () => torch.zeros(normalizedShape)),
      );
    }
  }
  forward(x: Tensor): Tensor {
    return this.elementwiseAffine
      ? F.layerNorm(x, this.normalizedShape, this.get('weight'), this.get('bias'), this.eps)
      : F.layerNorm(x, this.normalizedShape, undefined, undefined, this.eps);
  }
}

export class Embedding extends Module implements HalfStorable {
  /** Set by storeHalf: rows are looked up in the stored half dtype and returned in float32. */
  private computeDtype?: DType;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
  ) {
    super();
    this.param(
      'weight',
      paramStorage([numEmbeddings, embeddingDim], () => torch.randn([numEmbeddings, embeddingDim])),
    );
  }
  forward(ids: Tensor): Tensor {
    const rows = torch.ops.embedding(this.get('weight'), ids);
    return this.computeDtype && rows.dtype !== this.computeDtype ? rows.to(this.computeDtype) : rows;
  }
  storeHalf(dtype: DType): void {
    this.computeDtype = 'float32';
    this.to({ dtype, recurse: false });
  }
}

/** Submodules named 0, 1, 2, ... as torch.nn.ModuleList. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => {
      this.module(String(i), m);
    });
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    return this.items[i];
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
