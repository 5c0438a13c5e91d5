// Seeded random number generation: the global seed and explicit generators.
import { type NativeGenerator, native } from './native.ts';

/** Seeds the default generators (CPU, and CUDA when present), like torch.manual_seed. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
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
}
