// cache_text_encoder_outputs (sd-scripts: SDXL only; lyco: SD1/SD2 and SDXL): every distinct
// caption is encoded once before the first step — no grad, under the training autocast, one
// caption at a time — and kept in memory keyed by its text (hidden states; SDXL also the pooled
// text_embeds). The steps then read the cache instead of running the text encoders. It is only
// valid when the text encoders are not trained and every caption is fixed, as sd-scripts checks
// (sdxl_train_network.py assert_extra_args, train_util.py is_text_encoder_output_cacheable).
import { type TrainConfig, textCacheConflict } from '../config/index.ts';
import { processCaption } from '../data/captions.ts';
import type { LoadedDataset } from '../data/load-dataset.ts';
import { PyRandom } from '../data/py-random.ts';
import type { MaxTokenLength } from '../models/tokenizer/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { RunModels } from './setup-models.ts';
import { encodeCaptions, type UNetConditioning } from './text-conditioning.ts';

interface Entry {
  hidden: Tensor;
  textEmbeds?: Tensor;
}

/**
 * Throws one line naming the option that rules the cache out, for the run's loaded subsets
 * (a dataset_config's subsets carry their own caption options).
 */
export function assertTextCacheable(cfg: TrainConfig, trainsTextEncoder: boolean, datasets: readonly LoadedDataset[]): void {
  const c = textCacheConflict(trainsTextEncoder, [...new Set(datasets.flatMap((ds) => ds.images.map((e) => e.subset)))]);
  if (!c) return;
  const where = cfg.dataset_config && c.key !== 'network_train_unet_only' ? `${cfg.dataset_config}: ` : '';
  throw new Error(`${where}${c.key}: ${c.message}`);
}

/** The caption every image trains with (fixed when textCacheConflict found nothing). */
export function fixedCaptions(datasets: readonly LoadedDataset[]): string[] {
  const out = new Set<string>();
  for (const ds of datasets) {
    for (const e of ds.images) out.add(processCaption(e.caption, e.subset, { epoch: 1, step: 0 }, new PyRandom(0)));
  }
  return [...out];
}

export interface TextEncodeOptions {
  clipSkip?: number;
  maxTokenLength?: MaxTokenLength;
  /** Runs the encoders under the training autocast. */
  autocast: <T>(fn: () => T) => T;
}

export class TextEncoderCache {
  private readonly entries = new Map<string, Entry>();
  /** Captions encoded after the first fill (wildcards can make new ones). */
  misses = 0;

  constructor(
    private readonly models: RunModels,
    private readonly o: TextEncodeOptions,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Encodes the captions not cached yet, one at a time (as a batch of 1 trains). */
  fill(captions: Iterable<string>): void {
    for (const c of captions) if (!this.entries.has(c)) this.encode(c);
  }

  private encode(caption: string): Entry {
    const e = torch.noGrad(() =>
      torch.scope(() =>
        this.o.autocast(() => {
          const r = encodeCaptions(this.models, [caption], { clipSkip: this.o.clipSkip, maxTokenLength: this.o.maxTokenLength });
          return { hidden: r.hidden.keep(), textEmbeds: r.textEmbeds?.keep() };
        }),
      ),
    );
    this.entries.set(caption, e);
    return e;
  }

  /** The conditioning of a batch (inside the caller's scope); a caption not cached is encoded and kept. */
  lookup(captions: readonly string[]): UNetConditioning {
    const rows = captions.map((c) => {
      const hit = this.entries.get(c);
      if (hit) return hit;
      this.misses++;
      return this.encode(c);
    });
    if (rows.length === 1) {
      // A view, so the cached tensor itself is never handed out (and never freed with the step).
      return { hidden: rows[0].hidden.detach(), textEmbeds: rows[0].textEmbeds?.detach() };
    }
    const hidden = torch.cat(
      rows.map((r) => r.hidden),
      0,
    );
    const textEmbeds = rows[0].textEmbeds
      ? torch.cat(
          rows.map((r) => r.textEmbeds as Tensor),
          0,
        )
      : undefined;
    return { hidden, textEmbeds };
  }

  dispose(): void {
    for (const e of this.entries.values()) {
      e.hidden.dispose();
      e.textEmbeds?.dispose();
    }
    this.entries.clear();
  }
}
