// Builds a text encoder from a config and a state dict with transformers' names.
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';
import type { CLIPTextConfig } from './config.ts';
import { CLIPTextModel, CLIPTextModelWithProjection, LEGACY_KEYS } from './text-model.ts';

export function buildTextEncoder(config: CLIPTextConfig, withProjection: boolean): CLIPTextModel | CLIPTextModelWithProjection {
  return withProjection ? new CLIPTextModelWithProjection(config) : new CLIPTextModel(config);
}

/** Loads strictly (one-line error naming `source` on any missing/unexpected/mis-shaped key),
 *  ignoring the position_ids buffer older transformers versions saved. */
export function loadTextEncoderWeights(model: CLIPTextModel, sd: Map<string, Tensor>, source?: string): void {
  const filtered = new Map([...sd].filter(([k]) => !LEGACY_KEYS.includes(k)));
  model.loadStateDict(filtered, { strict: true, source, copied: torch.safetensors.releaseMappedPages });
}
