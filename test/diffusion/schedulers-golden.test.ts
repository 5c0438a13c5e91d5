// Noise schedule and samplers against diffusers v0.25.1 (golden/models/schedulers) and the
// sd-scripts training schedule (golden/noise/ddpm_schedule). README tolerances: tensors ≤ 1e-6
// absolute, timesteps exact, sigmas ≤ 1e-6 relative; ddpm_schedule betas/ᾱ rtol 2e-6, all_snr rtol 5e-6.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DDIMScheduler,
  DDPMScheduler,
  EulerAncestralScheduler,
  NoiseSchedule,
  type PredictionType,
  sample,
} from '../../src/diffusion/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';

const ABS = 1e-6;
const PTS: PredictionType[] = ['epsilon', 'v_prediction'];

function maxAbs(a: Tensor, b: Tensor): number {
  return torch.scope(() => a.to('float64').sub(b.to('float64')).abs().max().item());
}
function close(a: Tensor, b: Tensor, name: string, tol = ABS): number {
  assert.deepEqual(a.shape, b.shape, `${name} shape`);
  const d = maxAbs(a, b);
  assert.ok(d <= tol, `${name}: max|a-b| ${d.toExponential(3)} > ${tol}`);
  return d;
}

test('ddpm training schedule matches sd-scripts (betas, alphas, alphas_cumprod, all_snr, zero terminal SNR)', (t) => {
  const dir = goldenDir(t, 'noise');
  if (!dir) return;
  const g = torch.safetensors.load(join(dir, 'ddpm_schedule.safetensors'));
  const plain = new NoiseSchedule();
  const zt = new NoiseSchedule({ zeroTerminalSnr: true });
  const worst: Record<string, number> = {};
  // rtol on every element (ᾱ[999] = 0 after the fix: |a − b| ≤ rtol·|b| then demands exactly 0).
  const rel = (a: Tensor, k: string, rtol: number) => {
    const b = g.get(k)!;
    assert.deepEqual(a.shape, b.shape, k);
    const excess = torch.scope(() => {
      const bb = b.to('float64');
      const err = a.to('float64').sub(bb).abs();
      worst[k] = err.div(bb.abs().clamp(1e-30)).max().item();
      return err.sub(bb.abs().mul(rtol)).max().item();
    });
    assert.ok(excess <= 0, `${k}: exceeds rtol ${rtol} (max rel ${worst[k]})`);
  };
  rel(plain.betas, 'betas', 2e-6);
  rel(plain.alphas, 'alphas', 2e-6);
  rel(plain.alphasCumprod, 'alphas_cumprod', 2e-6);
  rel(plain.allSnr, 'all_snr', 5e-6);
  rel(zt.betas, 'zero_terminal_snr.betas', 2e-6);
  rel(zt.alphas, 'zero_terminal_snr.alphas', 2e-6);
  rel(zt.alphasCumprod, 'zero_terminal_snr.alphas_cumprod', 2e-6);
  rel(zt.allSnr, 'zero_terminal_snr.all_snr', 5e-6);
  t.diagnostic(
    `ddpm_schedule max rel: ${JSON.stringify(Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, v.toExponential(2)])))}`,
  );
  plain.dispose();
  zt.dispose();
});

test('scheduler timesteps, alphas and sigmas match diffusers', (t) => {
  const dir = goldenDir(t, 'models/schedulers');
  if (!dir) return;
  const js = JSON.parse(readFileSync(join(dir, 'schedules.json'), 'utf8'));
  const s = new NoiseSchedule();
  let worstSigma = 0;
  for (const [key, v] of Object.entries<{
    timesteps: number[];
    prev_timesteps: number[];
    alphas_cumprod_t: number[];
    alphas_cumprod_prev: number[];
  }>(js.ddim)) {
    if (!key.includes('/')) continue;
    const [spacing, n] = key.split('/');
    const d = new DDIMScheduler(s, { spacing: spacing as 'leading' });
    d.setTimesteps(Number(n));
    assert.deepEqual(d.timesteps, v.timesteps, `ddim ${key} timesteps`);
    assert.deepEqual(
      d.timesteps.map((x) => d.prevTimestep(x)),
      v.prev_timesteps,
      `ddim ${key} prev`,
    );
    const ac = s.alphasCumprod.toArray();
    assert.deepEqual(
      d.timesteps.map((x) => ac[x]),
      v.alphas_cumprod_t.map(Math.fround),
    );
    assert.deepEqual(
      v.prev_timesteps.map((x) => (x >= 0 ? ac[x] : ac[0])),
      v.alphas_cumprod_prev.map(Math.fround),
    );
  }
  for (const [key, v] of Object.entries<{ timesteps: number[]; sigmas: number[]; init_noise_sigma: number }>(js.euler_ancestral)) {
    const [spacing, n] = key.split('/');
    const e = new EulerAncestralScheduler(s, { spacing: spacing as 'leading', stepsOffset: 1 });
    e.setTimesteps(Number(n));
    assert.deepEqual(e.timesteps, v.timesteps.map(Math.fround), `euler ${key} timesteps`);
    assert.equal(e.sigmas.length, v.sigmas.length);
    e.sigmas.forEach((x, i) => {
      const r = v.sigmas[i] === 0 ? Math.abs(x) : Math.abs(x - v.sigmas[i]) / v.sigmas[i];
      worstSigma = Math.max(worstSigma, r);
      assert.ok(r <= 1e-6, `euler ${key} sigma ${i}: ${x} vs ${v.sigmas[i]}`);
    });
    assert.ok(Math.abs(e.initNoiseSigma - v.init_noise_sigma) / v.init_noise_sigma <= 1e-6, `${key} init sigma`);
  }
  t.diagnostic(`euler-a sigmas max rel ${worstSigma.toExponential(2)}`);
  s.dispose();
});

test('add_noise, get_velocity and single steps (DDPM, DDIM eta 0/1, Euler a) match diffusers', (t) => {
  const dir = goldenDir(t, 'models/schedulers');
  if (!dir) return;
  const g = torch.safetensors.load(join(dir, 'tensors.safetensors'));
  const get = (k: string) => {
    const v = g.get(k);
    assert.ok(v, `golden tensor ${k}`);
    return v;
  };
  let worst = 0;
  const c = (a: Tensor, k: string) => {
    worst = Math.max(worst, close(a, get(k), k));
  };
  torch.scope(() => {
    const base = new NoiseSchedule();
    close(base.betas, get('ddpm.betas'), 'betas');
    close(base.alphasCumprod, get('ddpm.alphas_cumprod'), 'alphas_cumprod');
    base.dispose();
    for (const pt of PTS) {
      const s = new NoiseSchedule({ predictionType: pt });
      const x0 = get('ddpm.in.original_samples');
      const noise = get('ddpm.in.noise');
      const ts = get('ddpm.in.timesteps');
      c(s.addNoise(x0, noise, ts), `ddpm.${pt}.add_noise`);
      c(s.getVelocity(x0, noise, ts), `ddpm.${pt}.get_velocity`);

      const ddpm = new DDPMScheduler(s);
      ddpm.setTimesteps(20);
      const r = ddpm.step(get(`ddpm.${pt}.step.model_output`), get(`ddpm.${pt}.step.timestep`).item(), get(`ddpm.${pt}.step.sample`), {
        noise: get(`ddpm.${pt}.step.variance_noise`),
      });
      c(r.prevSample, `ddpm.${pt}.step.prev_sample`);
      c(r.predOriginalSample, `ddpm.${pt}.step.pred_original_sample`);

      const ddim = new DDIMScheduler(s);
      ddim.setTimesteps(20);
      for (const eta of [0, 1]) {
        const k = `ddim.${pt}.eta${eta}`;
        const tt = get(`${k}.timestep`).item();
        assert.equal(tt, ddim.timesteps[5]);
        const noise1 = eta ? get(`${k}.variance_noise`) : undefined;
        const d = ddim.step(get('ddim.step.model_output'), tt, get('ddim.step.sample'), { eta, noise: noise1 });
        c(d.prevSample, `${k}.prev_sample`);
        c(d.predOriginalSample, `${k}.pred_original_sample`);
      }

      for (const spacing of ['linspace', 'leading'] as const) {
        const e = new EulerAncestralScheduler(s, { spacing, stepsOffset: 1 });
        e.setTimesteps(20);
        for (const i of [0, 10]) {
          const k = `euler_a.${spacing}.${pt}.i${i}`;
          e.setStepIndex(null);
          const tt = e.timesteps[i];
          assert.equal(tt, get(`${k}.timestep`).item());
          get(`${k}.sigma_from_to`)
            .toArray()
            .forEach((ref, j) => {
              assert.ok(Math.abs(e.sigmas[i + j] - ref) <= 1e-6 * ref, `${k} sigma ${j}`);
            });
          c(e.scaleModelInput(get('euler_a.step.sample'), tt), `${k}.scaled_input`);
          const r2 = e.step(get('euler_a.step.model_output'), tt, get('euler_a.step.sample'), { noise: get(`${k}.noise`) });
          c(r2.prevSample, `${k}.prev_sample`);
          c(r2.predOriginalSample, `${k}.pred_original_sample`);
        }
      }
      s.dispose();
    }
  });
  t.diagnostic(`single steps: worst max|a-b| ${worst.toExponential(2)} (tolerance ${ABS})`);
});

test('20-step trajectories (Euler a, DDIM) through sample() match diffusers', (t) => {
  const dir = goldenDir(t, 'models/schedulers');
  if (!dir) return;
  const g = torch.safetensors.load(join(dir, 'tensors.safetensors'));
  const cc = g.get('traj.fake_model_c')!;
  const fake = (x: Tensor, ts: number) =>
    torch.scope(() =>
      x
        .tanh()
        .mul(0.4)
        .add(cc.mul(torch.tensor(ts).div(1000))),
    );
  torch.scope(() => {
    const s = new NoiseSchedule();
    const ea = sample(fake, {
      sampler: new EulerAncestralScheduler(s, { spacing: 'linspace', stepsOffset: 1 }),
      steps: 20,
      noise: g.get('traj.euler_a.x_init')!,
      cond: null,
      stepNoise: (i) => g.get(`traj.euler_a.noise.${String(i).padStart(2, '0')}`)!,
    });
    const d1 = close(ea, g.get('traj.euler_a.final')!, 'traj.euler_a.final');
    const dd = sample(fake, { sampler: new DDIMScheduler(s), steps: 20, noise: g.get('traj.euler_a.x_init')!, cond: null });
    const d2 = close(dd, g.get('traj.ddim.final')!, 'traj.ddim.final');
    t.diagnostic(`trajectories: euler-a max|a-b| ${d1.toExponential(2)}, ddim ${d2.toExponential(2)}`);
    s.dispose();
  });
});
