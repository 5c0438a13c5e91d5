// CLIP text encoders of Stable Diffusion (transformers' module names) and SD/SDXL conditioning.
export { CLIPAttention, causalMask } from './attention.ts';
export { encodeSd, encodeSdxl, type SdxlConditioning, stitchChunks } from './conditioning.ts';
export { CLIP_L, type CLIPTextConfig, OPEN_CLIP_BIGG, OPEN_CLIP_H, parseClipTextConfig } from './config.ts';
export { CLIPEncoder, CLIPEncoderLayer, CLIPMLP } from './encoder.ts';
export { buildTextEncoder, loadTextEncoderWeights } from './load.ts';
export {
  type CLIPForwardOptions,
  CLIPTextEmbeddings,
  CLIPTextModel,
  CLIPTextModelWithProjection,
  type CLIPTextOutput,
  CLIPTextTransformer,
  type CLIPTextWithProjectionOutput,
  LEGACY_KEYS,
  pickRows,
  poolingIndex,
} from './text-model.ts';
