// Seeded random number generation: the global seed and explicit generators.
import { type NativeGenerator, native } from './native.ts';
import { Tensor } from './tensor.ts';

/** Seeds the default generators (CPU, and CUDA when present), like torch.manual_seed. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

/** The default CPU generator's state (a uint8 tensor), to save with a checkpoint. */
export function getRngState(): Tensor {
  return Tensor.fromId(native.getRngState());
}
export function setRngState(state: Tensor): void {
  native.setRngState(state.id);
}

/** An independent random stream (torch.Generator); pass it to randn/rand/dropout. */
export class Generator {
  readonly handle: NativeGenerator;
  readonly device: string;
  constructor(opts: { seed?: number; device?: string } = {}) {
    this.device = opts.device ?? 'cpu';
    this.handle = new native.Generator(this.device, opts.seed);
  }
  manualSeed(seed: number): this {
    native.generatorSeed(this.handle, seed);
    return this;
  }
  initialSeed(): number {
    return native.generatorSeed(this.handle);
  }
  getState(): Tensor {
    return Tensor.fromId(native.getRngState(this.handle));
  }
  setState(state: Tensor): this {
    native.setRngState(state.id, this.handle);
    return this;
  }
}
