// torch.nn.functional and the free functions Stable Diffusion training needs, in camelCase.

import { callOp, hasOp } from './dispatch.ts';
import * as ops from './generated/ops.ts';
import { isGradEnabled } from './grad.ts';
import type { Generator } from './random.ts';
import { type Scalar, Tensor } from './tensor.ts';

export function linear(input: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return ops.linear(input, weight, bias ?? null);
}

export interface Conv2dOptions {
  stride?: number | number[];
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
}
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor, o: Conv2dOptions = {}): Tensor {
  if (typeof o.padding === 'string')
    return ops.conv2d_padding(input, weight, bias ?? null, o.stride ?? 1, o.padding, o.dilation ?? 1, o.groups ?? 1);
  return ops.conv2d(input, weight, bias ?? null, o.stride ?? 1, o.padding ?? 0, o.dilation ?? 1, o.groups ?? 1);
}

export function groupNorm(input: Tensor, numGroups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  return ops.group_norm(input, numGroups, weight ?? null, bias ?? null, eps);
}
export function layerNorm(input: Tensor, normalizedShape: number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  return ops.layer_norm(input, normalizedShape, weight ?? null, bias ?? null, eps);
}

export function silu(x: Tensor): Tensor {
  return ops.silu(x);
}
/** GELU; approximate 'tanh' as in diffusers' GELU(approximate="tanh"). */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return ops.gelu(x, approximate);
}
export function relu(x: Tensor): Tensor {
  return ops.relu(x);
}
export function sigmoid(x: Tensor): Tensor {
  return ops.sigmoid(x);
}
export function mish(x: Tensor): Tensor {
  return ops.mish(x);
}
export function softmax(x: Tensor, dim: number): Tensor {
  return ops.softmax_int(x, dim);
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return ops.log_softmax_int(x, dim);
}

/** beta * input + alpha * (batch1 @ batch2), the attention-score kernel of diffusers. */
export function baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
  return ops.baddbmm(input, batch1, batch2, opts.beta ?? 1, opts.alpha ?? 1);
}

export interface InterpolateOptions {
  size?: number[];
  scaleFactor?: number | number[];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}
/** 2-D resize of an NCHW tensor, as F.interpolate (nearest and bilinear). */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  const scales = o.scaleFactor === undefined ? null : typeof o.scaleFactor === 'number' ? [o.scaleFactor, o.scaleFactor] : o.scaleFactor;
  const size = o.size ?? null;
  if ((size === null) === (scales === null)) throw new TypeError('interpolate: give exactly one of size and scaleFactor');
  if ((o.mode ?? 'nearest') === 'nearest') return ops.upsample_nearest2d_vec(x, size, scales);
  return ops.upsample_bilinear2d_vec(x, size, o.alignCorners ?? false, scales);
}

/** Dropout; active when training (default: while grad is enabled). */
export function dropout(x: Tensor, p: number, training = isGradEnabled(), generator?: Generator): Tensor {
  if (!training || p === 0) return ops.alias(x);
  if (generator) {
    const keepMask = ops.bernoulli_p(x, 1 - p, generator);
    const r = x.mul(keepMask).div_(1 - p);
    keepMask.dispose();
    return r;
  }
  return ops.dropout(x, p, true);
}

export function kron(a: Tensor, b: Tensor): Tensor {
  return ops.kron(a, b);
}
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  return ops.einsum(equation, operands);
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return ops.cat(tensors, dim);
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return ops.stack(tensors, dim);
}
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  return x.chunk(chunks, dim);
}
export function split(x: Tensor, size: number | number[], dim = 0): Tensor[] {
  return x.split(size, dim);
}
export function where(condition: Tensor, a: Tensor | Scalar, b: Tensor | Scalar): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return ops.where_self(condition, a, b);
  if (a instanceof Tensor) return ops.where_ScalarOther(condition, a, b as Scalar);
  if (b instanceof Tensor) return ops.where_ScalarSelf(condition, a, b);
  return ops.where_Scalar(condition, a, b);
}
/** Constant padding; pad lists (left, right, top, bottom, ...) from the last dim, as F.pad. */
export function pad(x: Tensor, padding: number[], value = 0): Tensor {
  return ops.constant_pad_nd(x, padding, value);
}

type Reduction = 'mean' | 'sum' | 'none';
const REDUCTION = { none: 0, mean: 1, sum: 2 } as const;
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return ops.mse_loss(input, target, REDUCTION[reduction]);
}
export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return ops.l1_loss(input, target, REDUCTION[reduction]);
}
export function huberLoss(input: Tensor, target: Tensor, delta = 1, reduction: Reduction = 'mean'): Tensor {
  return ops.huber_loss(input, target, REDUCTION[reduction], delta);
}

export function avgPool2d(x: Tensor, kernel: number | number[], stride?: number | number[]): Tensor {
  return ops.avg_pool2d(x, kernel, stride ?? kernel);
}

/**
 * softmax(q k^T * scale) v. Uses libtorch's fused kernel when it has one (2.x), otherwise the
 * baddbmm + softmax form diffusers uses on 1.13, which does not keep more than the score matrix.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: { scale?: number } = {}): Tensor {
  const scale = opts.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]);
  if (hasOp('aten::scaled_dot_product_attention', '') && opts.scale === undefined) {
    return callOp('aten::scaled_dot_product_attention', '', q, k, v) as Tensor;
  }
  const kt = k.transpose(-2, -1);
  const scores = q.matmul(kt).mul_(scale);
  const probs = ops.softmax_int(scores, -1);
  const out = probs.matmul(v);
  kt.dispose();
  scores.dispose();
  probs.dispose();
  return out;
}
