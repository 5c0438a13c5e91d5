// What the UNet is conditioned on, for training batches and training samples. The encoders'
// arithmetic is src/models/clip (encodeSd, encodeSdxl: the same path StableDiffusionPipeline
// samples with); this file feeds it captions and adds SDXL's size conditioning (time_ids).
import { type CLIPTextModelWithProjection, encodeSd, encodeSdxl } from '../models/clip/index.ts';
import { type MaxTokenLength, sdScriptsInputIds } from '../models/tokenizer/index.ts';
import type { Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';
import type { RunModels } from './setup-models.ts';

/** encoder_hidden_states, and for SDXL the added_cond_kwargs (text_embeds, time_ids). */
export interface UNetConditioning {
  hidden: Tensor;
  textEmbeds?: Tensor;
  timeIds?: Tensor;
}

/** [B, chunks, 77] int64 ids of the captions for tokenizer i (sd-scripts' 75-token chunks). */
function captionIds(models: RunModels, i: number, captions: string[], maxTokenLength?: MaxTokenLength): Tensor {
  const rows = captions.map((c) => sdScriptsInputIds(models.tokenizers[i], c, maxTokenLength));
  const flat = BigInt64Array.from(rows.flat(2).map((v) => BigInt(v)));
  return torch.fromTypedArray(flat, [captions.length, rows[0].length, rows[0][0].length]);
}

/**
 * Text conditioning of a batch of captions. SD1/SD2: clip skip as given; SDXL: both encoders'
 * penultimate states concatenated and the pooled text_embeds of encoder 2 (clip skip does not apply).
 */
export function encodeCaptions(
  models: RunModels,
  captions: string[],
  o: { clipSkip?: number; maxTokenLength?: MaxTokenLength } = {},
): { hidden: Tensor; textEmbeds?: Tensor } {
  const [te1, te2] = models.textEncoders;
  if (!models.sdxl) return { hidden: encodeSd(te1, captionIds(models, 0, captions, o.maxTokenLength), o.clipSkip) };
  const c = encodeSdxl(
    te1,
    te2 as CLIPTextModelWithProjection,
    captionIds(models, 0, captions, o.maxTokenLength),
    captionIds(models, 1, captions, o.maxTokenLength),
    models.tokenizers[1].eosTokenId,
  );
  return { hidden: c.hidden, textEmbeds: c.textEmbeds };
}

/** One SDXL time_ids row: original (h, w), crop (top, left), target (h, w). */
export type SizeConditioning = readonly [number, number, number, number, number, number];

/** [B, 6] float32 time_ids; the UNet embeds them (diffusers' add_time_proj). */
export function timeIdsTensor(rows: readonly SizeConditioning[]): Tensor {
  return torch.tensor(rows.map((r) => [...r]));
}
