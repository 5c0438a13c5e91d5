// Grad mode and autocast as closures that restore the previous state, even on throw.
import { type DType, dtypeCode } from './dtype.ts';
import { native } from './native.ts';

export function isGradEnabled(): boolean {
  return native.gradEnabled();
}

function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = native.setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn with autograd recording off (torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  return withGrad(false, fn);
}

/** Runs fn with autograd recording on (torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  return withGrad(true, fn);
}

/**
 * Runs fn under autocast: matmul/conv/linear in `dtype` (float16 or bfloat16), numerically
 * sensitive ops kept in float32, as torch.autocast. CPU autocast on libtorch 1.13 supports bfloat16.
 */
export function autocast<T>(dtype: DType, fn: () => T, deviceType: 'cpu' | 'cuda' = 'cpu'): T {
  const [prevEnabled, prevDtype] = native.setAutocast(deviceType, true, dtypeCode(dtype));
  autocastDepth++;
  try {
    return fn();
  } finally {
    autocastDepth--;
    native.setAutocast(deviceType, prevEnabled, prevDtype);
  }
}

let autocastDepth = 0;

/** Inside torch.autocast (lyco enters autocast only through it). */
export function isAutocastEnabled(): boolean {
  return autocastDepth > 0;
}
