// AutoencoderKL (SD's VAE) and its posterior.
export { AutoencoderKL, type AutoencoderKLConfig, Decoder, Encoder, VaeMidBlock } from './autoencoder-kl.ts';
export { DiagonalGaussianDistribution } from './distribution.ts';
