// More than one [[datasets]] in a dataset_config: sd-scripts trains over their union (a
// DatasetGroup, torch's ConcatDataset), each dataset batching its own buckets with its own
// batch_size, and the DataLoader shuffles the concatenated batches. Here each dataset keeps its
// EpochSampler and latent cache; the epoch's batches are interleaved in an order drawn from
// (seed, epoch) alone, so a resumed run replays it.
import type { CaptionState } from '../data/captions.ts';
import type { Batch, EpochSampler } from '../data/epoch-batches.ts';
import type { LatentCache } from '../data/latent-cache.ts';
import type { ImageEntry } from '../data/load-dataset.ts';
import { PyRandom } from '../data/py-random.ts';
import type { Tensor } from '../torch/index.ts';

/** What the loop draws batches from: one dataset's sampler or the union of several. */
export interface BatchSource {
  readonly length: number;
  batches(epoch: number, state?: Omit<CaptionState, 'epoch'>): Generator<Batch>;
}

/** What the step reads latents from. */
export type LatentSource = Pick<LatentCache, 'get' | 'dispose'>;

export class SamplerUnion implements BatchSource {
  constructor(
    private readonly samplers: readonly EpochSampler[],
    private readonly seed: number,
  ) {}

  get length(): number {
    return this.samplers.reduce((a, s) => a + s.length, 0);
  }

  /** Which dataset each of the epoch's batches comes from, shuffled by (seed, epoch). */
  order(epoch: number): number[] {
    const order = this.samplers.flatMap((s, i) => Array<number>(s.length).fill(i));
    new PyRandom(this.seed + epoch).shuffle(order);
    return order;
  }

  *batches(epoch: number, state: Omit<CaptionState, 'epoch'> = { step: 0 }): Generator<Batch> {
    const its = this.samplers.map((s) => s.batches(epoch, state));
    for (const i of this.order(epoch)) {
      const next = its[i].next();
      if (next.done) throw new Error(`dataset ${i + 1} ran out of batches in epoch ${epoch}`);
      yield next.value;
    }
  }
}

/** Latents of every dataset's images, each from the cache of the dataset it belongs to. */
export class CacheUnion implements LatentSource {
  private readonly owner = new Map<ImageEntry, LatentCache>();

  constructor(
    private readonly caches: readonly LatentCache[],
    datasets: readonly { images: readonly ImageEntry[] }[],
  ) {
    datasets.forEach((ds, i) => {
      for (const e of ds.images) this.owner.set(e, caches[i]);
    });
  }

  get(e: ImageEntry, flipped = false): Tensor {
    const c = this.owner.get(e);
    if (!c) throw new Error(`${e.path}: not in any dataset of this run`);
    return c.get(e, flipped);
  }

  dispose(): void {
    for (const c of this.caches) c.dispose();
  }
}
