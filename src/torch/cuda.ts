// CUDA queries; false/0 on a CPU-only libtorch (Debian's).
import { native } from './native.ts';

export function isAvailable(): boolean {
  return native.cudaAvailable();
}
export function deviceCount(): number {
  return native.cudaDeviceCount();
}
/** Waits for the device's queued work (for timing). */
export function synchronize(device = 0): void {
  native.cudaSynchronize(device);
}
