// Batches for each epoch, every batch from one bucket, in sd-scripts' order of random draws:
// at each epoch the generator is re-seeded with seed + epoch, the list of (bucket, batch) slots
// and every bucket's image list are shuffled in place (cumulatively, as sd-scripts does), then per
// image: flip, random crop, caption. sd-scripts' DataLoader additionally permutes the batches with
// torch's generator; here the shuffled slot order is used as is.
import type { BucketResult } from './assign-buckets.ts';
import type { Size } from './buckets.ts';
import { type CaptionState, processCaption } from './captions.ts';
import type { ImageEntry } from './load-dataset.ts';
import { cropOffsets } from './prepare-image.ts';
import { PyRandom } from './py-random.ts';

export interface BatchItem {
  entry: ImageEntry;
  flipped: boolean;
  /** crop start in the resized image (x, y) */
  cropOffset: Size;
  caption: string;
  /** prior_loss_weight for regularisation images, else 1 */
  lossWeight: number;
}

export interface Batch {
  bucketReso: Size;
  items: BatchItem[];
}

interface Slot {
  bucket: number;
  batch: number;
}

/** The dataset seed sd-scripts derives from --seed: random.seed(seed); random.randint(0, 2**31). */
export function datasetSeed(seed: number): number {
  return new PyRandom(seed).randint(0, 2 ** 31);
}

export class EpochSampler {
  private readonly buckets: string[][];
  private readonly resos: readonly Size[];
  private readonly slots: Slot[] = [];
  private readonly byPath: Map<string, ImageEntry>;
  private rng: PyRandom;
  private epoch = 0;

  constructor(
    images: readonly ImageEntry[],
    bucketResult: BucketResult,
    private readonly batchSize: number,
    private readonly seed: number,
    private readonly priorLossWeight = 1,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch_size must be >= 1, got ${batchSize}`);
    this.byPath = new Map(images.map((e) => [e.path, e]));
    this.buckets = bucketResult.manager.buckets.map((b) => b.slice());
    this.resos = bucketResult.manager.resos.slice();
    this.buckets.forEach((b, i) => {
      for (let j = 0; j < Math.ceil(b.length / batchSize); j++) this.slots.push({ bucket: i, batch: j });
    });
    this.rng = new PyRandom(seed);
    this.shuffle();
  }

  /** Batches per epoch: sum over buckets of ceil(images with repeats / batch_size). */
  get length(): number {
    return this.slots.length;
  }

  private shuffle(): void {
    this.rng = new PyRandom(this.seed + this.epoch);
    this.rng.shuffle(this.slots);
    for (const b of this.buckets) this.rng.shuffle(b);
  }

  /**
   * The batches of `epoch` (1-based; epochs only move forward). Captions see `state` (step for
   * token warmup); draws continue from the epoch's re-seeded generator.
   */
  *batches(epoch: number, state: Omit<CaptionState, 'epoch'> = { step: 0 }): Generator<Batch> {
    if (epoch < this.epoch) throw new RangeError(`epoch ${epoch} is before the current epoch ${this.epoch}`);
    while (this.epoch < epoch) {
      this.epoch++;
      this.shuffle();
    }
    for (const slot of this.slots) {
      const list = this.buckets[slot.bucket];
      const keys = list.slice(slot.batch * this.batchSize, (slot.batch + 1) * this.batchSize);
      const reso = this.resos[slot.bucket];
      const items = keys.map((k): BatchItem => {
        const entry = this.byPath.get(k) as ImageEntry;
        const s = entry.subset;
        const flipped = s.flip_aug && this.rng.random() < 0.5;
        const cropOffset = cropOffsets(entry.bucketReso, entry.resizedSize, s.random_crop, this.rng);
        const caption = processCaption(entry.caption, s, { ...state, epoch }, this.rng);
        return { entry, flipped, cropOffset, caption, lossWeight: entry.isReg ? this.priorLossWeight : 1 };
      });
      yield { bucketReso: reso, items };
    }
  }
}
