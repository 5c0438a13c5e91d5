// Single-file (LDM) checkpoints → diffusers component state dicts.
export { type Family, textEncoderConfigs, unetConfig, vaeConfig } from './configs.ts';
export { type Component, type KeyMapping, LAYOUTS, type Transform } from './ldm-keys.ts';
export {
  applyTransform,
  CheckpointFormatError,
  type ConversionPlan,
  convertTensors,
  detectFamily,
  planConversion,
  readShapes,
  transformedShape,
} from './single-file.ts';
