// What the UNet gets from the text encoders, as sd-scripts computes it:
// - SD1.x/SD2.x: last_hidden_state, or with clip skip k final_layer_norm(hidden_states[-k])
//   (A1111's "clip skip 2" = penultimate layer, normed);
// - SDXL: concat(encoder 1 penultimate, encoder 2 penultimate) on the feature axis, both NOT
//   normed, and text_embeds = text_projection(encoder 2 at the first EOS) as the pooled vector.
// Long prompts: ids arrive as [batch, chunks, 77]; every chunk is encoded, then BOS of the first,
// the 75 middle states of each chunk and the last state of the last chunk are stitched
// together: [batch, chunks·75 + 2, width].
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import { type CLIPTextModel, type CLIPTextModelWithProjection, pickRows, poolingIndex } from './text-model.ts';

/** [B, n, T] or [B, T] ids -> [B·n, T]. */
function flatRows(ids: Tensor): { rows: Tensor; batch: number; chunks: number } {
  if (ids.ndim === 2) return { rows: ids, batch: ids.shape[0], chunks: 1 };
  const [b, n, t] = ids.shape;
  return { rows: ids.reshape(b * n, t), batch: b, chunks: n };
}

/** [B·n, T, H] per-chunk states -> [B, n·(T-2) + 2, H] (unchanged when n = 1). */
export function stitchChunks(states: Tensor, batch: number, chunks: number): Tensor {
  return torch.scope(() => {
    const [, t, h] = states.shape;
    const seq = states.reshape(batch, chunks * t, h);
    if (chunks === 1) return seq;
    const parts = [seq.narrow(1, 0, 1)];
    for (let i = 1; i < chunks * t; i += t) parts.push(seq.narrow(1, i, t - 2));
    parts.push(seq.narrow(1, chunks * t - 1, 1));
    return torch.cat(parts, 1);
  });
}

/**
 * SD1.x / SD2.x encoder_hidden_states. clipSkip undefined (or 1): last_hidden_state;
 * k >= 2: final_layer_norm(hidden_states[-k]), computing only the layers needed.
 */
export function encodeSd(te: CLIPTextModel, ids: Tensor, clipSkip?: number): Tensor {
  return torch.scope(() => {
    const { rows, batch, chunks } = flatRows(ids);
    const tm = te.text_model;
    const layers = tm.encoder.layers.length;
    let states: Tensor;
    if (clipSkip === undefined || clipSkip <= 1) {
      states = tm.forward(rows).last_hidden_state as Tensor;
    } else {
      if (clipSkip > layers + 1) throw new Error(`clip_skip ${clipSkip} is more than the text encoder's ${layers} layers + 1`);
      const hs = tm.forward(rows, { upTo: layers + 1 - clipSkip }).hidden_states;
      states = tm.final_layer_norm.forward(hs[hs.length - 1]);
    }
    return stitchChunks(states, batch, chunks);
  });
}

export interface SdxlConditioning {
  /** [B, n·75+2, H1+H2]: encoder_hidden_states of the SDXL UNet. */
  hidden: Tensor;
  /** [B, projection_dim]: text_embeds (the pooled part of the added conditioning), first chunk. */
  textEmbeds: Tensor;
}

/**
 * SDXL conditioning. ids1/ids2 from the two tokenizers (pad EOS / pad 0), [B, n, 77] or [B, 77].
 * eosTokenId is the tokenizer's <|endoftext|> (49407): pooling takes its first position,
 * whatever the config says (sd-scripts' pool workaround), so textual-inversion ids cannot win.
 */
export function encodeSdxl(
  te1: CLIPTextModel,
  te2: CLIPTextModelWithProjection,
  ids1: Tensor,
  ids2: Tensor,
  eosTokenId = 49407,
): SdxlConditioning {
  return torch.scope(() => {
    const a = flatRows(ids1);
    const b = flatRows(ids2);
    const l1 = te1.text_model.encoder.layers.length;
    const hs1 = te1.text_model.forward(a.rows, { upTo: l1 - 1 }).hidden_states;
    const out2 = te2.text_model.forward(b.rows);
    const hs2 = out2.hidden_states;
    const pooled = pickRows(out2.last_hidden_state as Tensor, poolingIndex(b.rows, eosTokenId));
    let textEmbeds = te2.text_projection.forward(pooled);
    // One pooled vector per caption: the first chunk's (rows are caption-major).
    if (b.chunks > 1) textEmbeds = textEmbeds.view(b.batch, b.chunks, -1).select(1, 0);
    const h1 = stitchChunks(hs1[hs1.length - 1], a.batch, a.chunks);
    const h2 = stitchChunks(hs2[hs2.length - 2], b.batch, b.chunks);
    return { hidden: torch.cat([h1, h2], 2), textEmbeds };
  });
}
