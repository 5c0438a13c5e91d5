// The real full-size model classes (diffusers UNet2DConditionModel, transformers CLIP text
// encoders) built from the full configs without random init: on the meta device by default
// (shapes only, no memory), or on the CPU with uninitialised storage.
import {
  CLIP_L,
  CLIPTextModel as CLIPText,
  type CLIPTextModel,
  CLIPTextModelWithProjection,
  OPEN_CLIP_BIGG,
  OPEN_CLIP_H,
} from '../../src/models/clip/index.ts';
import { type Family, unetConfig } from '../../src/models/convert/index.ts';
import { UNet2DConditionModel } from '../../src/models/unet/unet-2d-condition.ts';
import { type NoInitOptions, withoutInit } from '../../src/nn/index.ts';

export function fullSizeModels(
  family: Family,
  o: NoInitOptions = { device: 'meta' },
): { unet: UNet2DConditionModel; textEncoders: CLIPTextModel[] } {
  return withoutInit(
    () => ({
      unet: new UNet2DConditionModel(unetConfig(family)),
      textEncoders:
        family === 'sd1'
          ? [new CLIPText(CLIP_L)]
          : family === 'sd2'
            ? [new CLIPText(OPEN_CLIP_H)]
            : [new CLIPText(CLIP_L), new CLIPTextModelWithProjection(OPEN_CLIP_BIGG)],
    }),
    o,
  );
}
