// AutoencoderKL against diffusers v0.25.1 (vae_tiny): encoder, posterior, decoder, clamping and KL.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AutoencoderKL, DiagonalGaussianDistribution } from '../../src/models/vae/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';
import { assertClose } from './compare.ts';

// README: VAE ≤ 1e-4·max|b| + 1e-6.
const REL = 1e-4;
const ABS = 1e-6;

test('vae_tiny: encode, posterior, decode match diffusers', (t) => {
  const dir = goldenDir(t, 'models/vae/vae_tiny');
  if (!dir) return;
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const vae = new AutoencoderKL(config);
  vae.loadStateDict(torch.safetensors.load(join(dir, 'weights.safetensors')), { strict: true, source: dir });
  assert.equal(vae.numParameters(), meta.num_parameters);
  assert.equal(vae.scalingFactor, 0.18215);
  const io = torch.safetensors.load(join(dir, 'io.safetensors'));
  const g = (k: string) => io.get(k)!;
  let worst = 0;
  const check = (a: torch.Tensor, k: string) => {
    worst = Math.max(worst, assertClose(a, g(k), k, REL, ABS).rel);
  };
  torch.noGrad(() =>
    torch.scope(() => {
      const h = vae.encoder.forward(g('in.image'));
      check(h, 'out.encoder_h');
      const post = vae.encode(g('in.image'));
      check(post.parameters, 'out.moments');
      check(post.mean, 'out.mean');
      check(post.logvar, 'out.logvar');
      check(post.std, 'out.std');
      check(post.mean.mul(vae.scalingFactor), 'out.scaled_mean');
      check(post.sample({ noise: g('in.posterior_noise') }), 'out.posterior_sample');
      check(vae.decode(g('in.latents')), 'out.decoded_latents');
      check(vae.decode(post.mean), 'out.decoded_mean');
      check(vae.post_quant_conv.forward(g('in.latents')), 'out.post_quant_conv_latents');

      const d = new DiagonalGaussianDistribution(g('dist.parameters'));
      for (const k of ['mean', 'logvar', 'std', 'var'] as const) check(d[k], `dist.${k}`);
      check(d.kl(), 'dist.kl');
    }),
  );
  t.diagnostic(`vae_tiny: worst max|a-b|/max|b| = ${worst.toExponential(2)}`);
  vae.dispose();
});
