// The noise sd-scripts trains against: noise offset (with adaptive_noise_scale), multires /
// pyramid noise, timestep sampling, input-perturbation noise, and the forward process
// (add_noise, get_velocity) over a given alphas_cumprod. Formulas and op order follow
// sd-scripts' custom_train_functions.py / train_util.py (HEAD 48d368fa) so that, given the same
// random draws, the results match upstream within float32 rounding.
//
// Every random number comes from a NoiseSource, in upstream's call order, so a run is seeded by
// explicit generators and the golden cases can replay the draws sd-scripts recorded.
import type { PyRandom } from '../data/py-random.ts';
import type { DType, Tensor } from '../torch/index.ts';
import * as torch from '../torch/index.ts';

/** The random draws the noise helpers make, one method per upstream call kind. */
export interface NoiseSource {
  /** torch.randn / torch.randn_like (sd-scripts: the latents' device generator). */
  randn(shape: number[], dtype: DType, device: string): Tensor;
  /** torch.rand, float32 (noise_offset_random_strength, ip_noise_gamma_random_strength). */
  rand(shape: number[], device: string): Tensor;
  /** torch.randint(low, high, shape), int64 on the CPU (timesteps; sd-scripts HEAD draws on CPU). */
  randint(low: number, high: number, shape: number[]): Tensor;
  /** Python's random.random() (pyramid noise picks its shrink factor with it). */
  random(): number;
}

/**
 * A NoiseSource over explicit generators: `generator` for the device draws, `cpuGenerator`
 * (default: the same one) for pyramid levels and timesteps, and a PyRandom for random.random().
 */
export function generatorSource(opts: { generator: torch.Generator; cpuGenerator?: torch.Generator; py: PyRandom }): NoiseSource {
  const cpu = opts.cpuGenerator ?? opts.generator;
  // A draw on the generator's own device uses it; CPU draws on a GPU run use the CPU one.
  const pick = (device: string) => (device === opts.generator.device ? opts.generator : cpu);
  return {
    randn: (shape, dtype, device) => torch.randn(shape, { dtype, device, generator: pick(device) }),
    rand: (shape, device) => torch.rand(shape, { device, generator: pick(device) }),
    randint: (low, high, shape) => torch.randint(low, high, shape, { generator: cpu }),
    random: () => opts.py.random(),
  };
}

/**
 * apply_noise_offset: noise + offset·z with z ~ N(0,1) of shape (B, C, 1, 1). With
 * adaptive_noise_scale the offset becomes, per sample and channel,
 * max(0, noise_offset + adaptive_noise_scale·|mean_hw(latents)|) (the clamp keeps a negative
 * adaptive scale from flipping the offset's sign). noiseOffset may be a tensor (the random
 * strength draw). One draw: randn(B, C, 1, 1), float32 as upstream.
 */
export function applyNoiseOffset(
  latents: Tensor,
  noise: Tensor,
  noiseOffset: number | Tensor | null | undefined,
  adaptiveNoiseScale: number | null | undefined,
  src: NoiseSource,
): Tensor {
  if (noiseOffset === null || noiseOffset === undefined) return noise;
  return torch.scope(() => {
    let offset: number | Tensor = noiseOffset;
    if (adaptiveNoiseScale !== null && adaptiveNoiseScale !== undefined) {
      const latentMean = latents.mean([2, 3], true).abs();
      const scaled = latentMean.mul(adaptiveNoiseScale);
      offset = (typeof offset === 'number' ? scaled.add(offset) : offset.add(scaled)).clamp(0, null);
    }
    const [b, c] = latents.shape;
    const z = src.randn([b, c, 1, 1], 'float32', latents.device);
    return noise.add(typeof offset === 'number' ? z.mul(offset) : offset.mul(z));
  });
}

/**
 * pyramid_noise_like (multires noise): for i = 0 … iterations−1, r = random.random()·2 + 2,
 * add bilinear-upsampled randn(B, C, max(1, ⌊H/r^i⌋), max(1, ⌊W/r^i⌋)) · discount^i, stopping
 * after the first level with a 1-pixel side; then divide by the unbiased std of the whole tensor.
 * Level 0 is a second full-resolution white noise (r^0 = 1), as upstream. Unlike upstream the
 * input is not modified in place (its dtype is kept for the accumulation, as `+=` does).
 */
export function pyramidNoiseLike(noise: Tensor, iterations: number, discount: number, src: NoiseSource): Tensor {
  return torch.scope(() => {
    // Upstream unpacks (b, c, w, h) = shape, so its "w" is the height; the arithmetic is the same.
    const [b, c, h, w] = noise.shape;
    const acc = noise.clone();
    for (let i = 0; i < iterations; i++) {
      const r = src.random() * 2 + 2;
      const hn = Math.max(1, Math.trunc(h / r ** i));
      const wn = Math.max(1, Math.trunc(w / r ** i));
      const draw = src.randn([b, c, hn, wn], 'float32', 'cpu').to(noise.device);
      const up = torch.F.interpolate(draw, { size: [h, w], mode: 'bilinear', alignCorners: false });
      acc.add_(up.mul(discount ** i));
      if (hn === 1 || wn === 1) break;
    }
    return acc.div(acc.std());
  });
}

/** get_timesteps: randint(min, max, (B,)) int64, or all `max` when min ≥ max. */
export function sampleTimesteps(minTimestep: number, maxTimestep: number, batchSize: number, src: NoiseSource, device = 'cpu'): Tensor {
  const t =
    minTimestep < maxTimestep
      ? src.randint(minTimestep, maxTimestep, [batchSize])
      : torch.full([batchSize], maxTimestep, { dtype: 'int64' });
  return device === 'cpu' ? t : t.to(device);
}

/** sqrt(ᾱ_t) and sqrt(1 − ᾱ_t) per sample, shaped to broadcast over a sample of `ndim` dims. */
function coefficients(alphasCumprod: Tensor, timesteps: Tensor, like: Tensor): [Tensor, Tensor] {
  const ac = alphasCumprod.to({ dtype: like.dtype, device: like.device });
  const at = ac.indexSelect(0, timesteps.to(like.device));
  const tail = Array(like.ndim - 1).fill(1);
  const sqrtAlpha = at
    .pow(0.5)
    .flatten()
    .reshape([-1, ...tail]);
  const sqrtOneMinus = at
    .neg()
    .add(1)
    .pow(0.5)
    .flatten()
    .reshape([-1, ...tail]);
  return [sqrtAlpha, sqrtOneMinus];
}

/** DDPMScheduler.add_noise: sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε (ᾱ cast to the sample dtype). */
export function addNoise(alphasCumprod: Tensor, original: Tensor, noise: Tensor, timesteps: Tensor): Tensor {
  return torch.scope(() => {
    const [a, s] = coefficients(alphasCumprod, timesteps, original);
    return a.mul(original).add(s.mul(noise));
  });
}

/** DDPMScheduler.get_velocity, the v-prediction target: sqrt(ᾱ_t)·ε − sqrt(1 − ᾱ_t)·x0. */
export function getVelocity(alphasCumprod: Tensor, sample: Tensor, noise: Tensor, timesteps: Tensor): Tensor {
  return torch.scope(() => {
    const [a, s] = coefficients(alphasCumprod, timesteps, sample);
    return a.mul(noise).sub(s.mul(sample));
  });
}

/** The sd-scripts options that shape the noise (names as on sd-scripts' command line). */
export interface NoiseArgs {
  noise_offset?: number | null;
  noise_offset_random_strength?: boolean;
  adaptive_noise_scale?: number | null;
  multires_noise_iterations?: number | null;
  multires_noise_discount?: number;
  min_timestep?: number | null;
  max_timestep?: number | null;
  ip_noise_gamma?: number | null;
  ip_noise_gamma_random_strength?: boolean;
}

export interface NoisyBatch {
  /** The training target for epsilon prediction (after offset and pyramid noise). */
  noise: Tensor;
  noisyLatents: Tensor;
  /** int64, one per sample. */
  timesteps: Tensor;
}

/**
 * get_noise_noisy_latents_and_timesteps. Draw order (the golden README's): randn_like(latents);
 * [rand(1) if noise_offset_random_strength]; randn(B,C,1,1) for the offset; (random.random,
 * randn) per pyramid level; randint(min_t, max_t, (B,)) unless min ≥ max; [rand(1) if
 * ip_noise_gamma_random_strength]; [randn_like(latents) for ip_noise_gamma]. Options are truthy
 * tests as upstream: noise_offset 0 is off, multires_noise_iterations 0 is off.
 */
export function noiseNoisyLatentsAndTimesteps(
  args: NoiseArgs,
  alphasCumprod: Tensor,
  latents: Tensor,
  src: NoiseSource,
  numTrainTimesteps = alphasCumprod.shape[0],
): NoisyBatch {
  return torch.scope(() => {
    let noise = src.randn(latents.shape, latents.dtype, latents.device);
    if (args.noise_offset) {
      const offset = args.noise_offset_random_strength ? src.rand([1], latents.device).mul(args.noise_offset) : args.noise_offset;
      noise = applyNoiseOffset(latents, noise, offset, args.adaptive_noise_scale, src);
    }
    if (args.multires_noise_iterations) {
      noise = pyramidNoiseLike(noise, args.multires_noise_iterations, args.multires_noise_discount ?? 0.3, src);
    }
    const minT = args.min_timestep ?? 0;
    const maxT = args.max_timestep ?? numTrainTimesteps;
    const timesteps = sampleTimesteps(minT, maxT, latents.shape[0], src, latents.device);
    let noisyLatents: Tensor;
    if (args.ip_noise_gamma) {
      const strength = args.ip_noise_gamma_random_strength ? src.rand([1], latents.device).mul(args.ip_noise_gamma) : args.ip_noise_gamma;
      const extra = src.randn(latents.shape, latents.dtype, latents.device);
      const perturbed = noise.add(typeof strength === 'number' ? extra.mul(strength) : strength.mul(extra));
      noisyLatents = addNoise(alphasCumprod, latents, perturbed, timesteps);
    } else {
      noisyLatents = addNoise(alphasCumprod, latents, noise, timesteps);
    }
    return { noise, noisyLatents, timesteps };
  });
}
