// UNet2DConditionModel and its parts, under diffusers' names.
export { Attention, attentionSettings, BasicTransformerBlock, FeedForward, GEGLU } from './attention.ts';
export { DownBlock, MidBlockCrossAttn, UpBlock } from './blocks.ts';
export { type BlockPlan, planBlocks, type UNet2DConditionConfig } from './config.ts';
export { TimestepEmbedding, Timesteps, timestepEmbedding } from './embeddings.ts';
export { Downsample2D, ResnetBlock2D, Upsample2D } from './resnet.ts';
export { Transformer2DModel } from './transformer-2d.ts';
export { type TapFn, UNet2DConditionModel, type UNetConditioning } from './unet-2d-condition.ts';
