// Sinusoidal timestep features and the MLP on top of them (diffusers `Timesteps`,
// `TimestepEmbedding`); also used for SDXL's size/crop conditioning (`add_time_proj`).
import { Linear, Module } from '../../nn/index.ts';
import type { Tensor } from '../../torch/index.ts';
import * as torch from '../../torch/index.ts';

/**
 * diffusers get_timestep_embedding: [N] timesteps → [N, dim] (sin ++ cos, or cos ++ sin when
 * flipped). Frequencies are computed in float32 as upstream does, so values match bit for bit.
 */
export function timestepEmbedding(timesteps: Tensor, dim: number, flipSinToCos: boolean, freqShift: number, maxPeriod = 10000): Tensor {
  return torch.scope(() => {
    const half = Math.floor(dim / 2);
    const exponent = torch
      .arange(0, half, 1, { device: timesteps.device })
      .mul(-Math.log(maxPeriod))
      .div(half - freqShift);
    const freqs = exponent.exp();
    const args = timesteps.reshape(-1, 1).to('float32').mul(freqs.reshape(1, -1));
    const sin = args.sin();
    const cos = args.cos();
    let emb = flipSinToCos ? torch.cat([cos, sin], -1) : torch.cat([sin, cos], -1);
    if (dim % 2 === 1) emb = torch.F.pad(emb, [0, 1, 0, 0]);
    return emb;
  });
}

/** diffusers `Timesteps`: a parameter-free projection of timesteps to sinusoidal features. */
export class Timesteps extends Module {
  constructor(
    readonly numChannels: number,
    readonly flipSinToCos: boolean,
    readonly freqShift: number,
  ) {
    super();
  }
  forward(timesteps: Tensor): Tensor {
    return timestepEmbedding(timesteps, this.numChannels, this.flipSinToCos, this.freqShift);
  }
}

/** diffusers `TimestepEmbedding`: linear_1 → SiLU → linear_2. */
export class TimestepEmbedding extends Module {
  readonly linear_1: Linear;
  readonly linear_2: Linear;
  constructor(inChannels: number, timeEmbedDim: number) {
    super();
    this.linear_1 = this.module('linear_1', new Linear(inChannels, timeEmbedDim));
    this.linear_2 = this.module('linear_2', new Linear(timeEmbedDim, timeEmbedDim));
  }
  forward(x: Tensor): Tensor {
    return torch.scope(() => this.linear_2.forward(torch.F.silu(this.linear_1.forward(x))));
  }
}
