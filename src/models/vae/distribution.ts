// diffusers DiagonalGaussianDistribution: the VAE posterior N(mean, exp(logvar)).
import type { Generator, Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';

export class DiagonalGaussianDistribution {
  readonly mean: Tensor;
  /** Clamped to [-30, 20] as upstream, so exp() stays finite. */
  readonly logvar: Tensor;
  readonly std: Tensor;
  readonly var: Tensor;
  /** parameters: mean ++ logvar on dim 1 (the quant_conv output). Owns tensors in the caller's scope. */
  constructor(readonly parameters: Tensor) {
    const [mean, logvar] = parameters.chunk(2, 1);
    this.mean = mean;
    this.logvar = logvar.clamp(-30, 20);
    this.std = this.logvar.mul(0.5).exp();
    this.var = this.logvar.exp();
  }
  /** mean + std·noise; noise drawn from `generator` unless given. */
  sample(opts: { generator?: Generator; noise?: Tensor } = {}): Tensor {
    return torch.scope(() => {
      const noise =
        opts.noise ?? torch.randn(this.mean.shape, { generator: opts.generator, dtype: this.mean.dtype, device: this.mean.device });
      return this.mean.add(this.std.mul(noise));
    });
  }
  mode(): Tensor {
    return this.mean;
  }
  /** KL divergence to N(0, 1), summed over dims 1, 2, 3. */
  kl(): Tensor {
    return torch.scope(() => this.mean.square().add(this.var).sub(1).sub(this.logvar).sum([1, 2, 3]).mul(0.5));
  }
}
