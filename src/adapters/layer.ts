// What an adapter needs to know about the layer it wraps: Linear or Conv2d, its shape and how the
// layer applies its weight (stride/padding/groups), read from lyco's nn layers or any module that
// exposes the same fields (a shape-only stand-in, say, whose weight lives on the meta device).
import type { Module } from '../nn/index.ts';
import { Conv2d, Linear } from '../nn/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

export interface LayerInfo {
  kind: 'linear' | 'conv2d';
  inFeatures: number;
  outFeatures: number;
  /** Kernel size (1 for Linear). */
  kernel: number;
  stride: number;
  padding: number;
  groups: number;
  /** Weight shape: [out, in] or [out, in/groups, k, k]. */
  shape: number[];
}

type ConvLike = { inChannels: number; outChannels: number; kernelSize: number; stride?: number; padding?: number; groups?: number };
type LinearLike = { inFeatures: number; outFeatures: number };

/** LayerInfo of a Linear / Conv2d (or a look-alike), else undefined. */
export function layerInfo(m: Module): LayerInfo | undefined {
  const any = m as unknown as Partial<ConvLike & LinearLike>;
  if (m instanceof Linear || (typeof any.inFeatures === 'number' && typeof any.outFeatures === 'number')) {
    const l = m as unknown as LinearLike;
    return {
      kind: 'linear',
      inFeatures: l.inFeatures,
      outFeatures: l.outFeatures,
      kernel: 1,
      stride: 1,
      padding: 0,
      groups: 1,
      shape: [l.outFeatures, l.inFeatures],
    };
  }
  if (m instanceof Conv2d || (typeof any.inChannels === 'number' && typeof any.kernelSize === 'number')) {
    const c = m as unknown as ConvLike;
    const groups = c.groups ?? 1;
    return {
      kind: 'conv2d',
      inFeatures: c.inChannels,
      outFeatures: c.outChannels,
      kernel: c.kernelSize,
      stride: c.stride ?? 1,
      padding: c.padding ?? 0,
      groups,
      shape: [c.outChannels, c.inChannels / groups, c.kernelSize, c.kernelSize],
    };
  }
  return undefined;
}

/** Applies a weight (no bias) the way the layer applies its own: F.linear or F.conv2d with its stride/padding. */
export function applyWeight(x: Tensor, w: Tensor, layer: LayerInfo, bias?: Tensor): Tensor {
  if (layer.kind === 'linear') return torch.F.linear(x, w, bias);
  return torch.F.conv2d(x, w, bias, { stride: layer.stride, padding: layer.padding, groups: layer.groups });
}

/** `fold(W)`: [out, in·k·k] (a view when possible). */
export function fold(w: Tensor): Tensor {
  return w.reshape(w.shape[0], -1);
}
