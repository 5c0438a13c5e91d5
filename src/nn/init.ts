// Building a module tree without paying for its random initialisation. A full-size SD1.5 UNet
// has 860M parameters (SDXL's 2.6G): filling them writes 3.4 / 10 GB that a checkpoint load
// overwrites at once. Inside withoutInit the layers allocate with torch.empty, which does not
// touch the pages (RSS stays flat until the load writes them), or on the meta device, where
// nothing is allocated at all (shapes only: counting parameters, naming adapter targets).
import type { DType, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

export interface NoInitOptions {
  /** Allocate parameters in this dtype (default float32): load fp16 weights without an fp32 copy. */
  dtype?: DType;
  /** 'meta' for shape-only trees; default CPU. */
  device?: string;
}

const stack: NoInitOptions[] = [];

/** Runs fn (typically `() => new UNet2DConditionModel(cfg)`) with layer initialisation skipped. */
export function withoutInit<T>(fn: () => T, o: NoInitOptions = {}): T {
  stack.push(o);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

/** True inside withoutInit. */
export function initSkipped(): boolean {
  return stack.length > 0;
}

/** A parameter tensor: `init()` normally, uninitialised storage inside withoutInit. */
export function paramStorage(shape: number[], init: () => Tensor): Tensor {
  const o = stack[stack.length - 1];
  if (!o) return init();
  return torch.empty(shape, { dtype: o.dtype, device: o.device });
}
