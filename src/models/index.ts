// Stable Diffusion models: UNet, VAE, single-file conversion and loading.
export * as convert from './convert/index.ts';
export { fileDtype, type LoadedModel, type LoadOptions, loadModel } from './load.ts';
export * from './unet/index.ts';
export * from './vae/index.ts';
