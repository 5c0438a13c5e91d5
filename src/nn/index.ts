// torch.nn for lyco: the Module tree and the layers Stable Diffusion uses.
export { computesWider, frozenSettings, storeFrozenWeights } from './frozen.ts';
export { initSkipped, type NoInitOptions, paramStorage, withoutInit } from './init.ts';
export { Conv2d, type Conv2dOptions, Embedding, GroupNorm, LayerNorm, Linear, ModuleList } from './layers.ts';
export { type LoadReport, Module } from './module.ts';
