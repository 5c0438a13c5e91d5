// Every case in shared/golden/noise reproduced within the golden README's tolerances: noise offset
// (adaptive, clamped), pyramid noise, the whole get_noise_noisy_latents_and_timesteps pipeline
// (the recorded random draws replayed in upstream's order), SNR weights, huber_c schedules and
// conditional losses. alphas_cumprod comes from the golden ddpm_schedule (the DDPM schedule is
// built elsewhere); all_snr is recomputed here from it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PyRandom } from '../../src/data/py-random.ts';
import {
  addVPredictionLikeLoss,
  allSnr,
  applyDebiasedEstimation,
  applySnrWeight,
  conditionalLoss,
  getSnrScale,
  huberThreshold,
  type LossType,
  postProcessLoss,
  scaleVPredictionLossLikeNoisePrediction,
  snrAt,
} from '../../src/diffusion/loss-weights.ts';
import {
  applyNoiseOffset,
  generatorSource,
  getVelocity,
  type NoiseArgs,
  type NoiseSource,
  noiseNoisyLatentsAndTimesteps,
  pyramidNoiseLike,
  sampleTimesteps,
} from '../../src/diffusion/noise.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';

interface Draw {
  index: number;
  fn: string;
  shape: number[];
  tensor: string;
  value?: number;
}
interface NoiseCase {
  case: string;
  inputs?: Record<string, unknown>;
  args?: NoiseArgs;
  draws_in_call_order?: Draw[];
}

function load(dir: string, name: string): { c: NoiseCase; t: Map<string, Tensor> } {
  const c = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as NoiseCase;
  return { c, t: torch.safetensors.load(join(dir, `${name}.safetensors`)) };
}

/** Replays the recorded draws; each call must be the next recorded one, of the same kind and shape. */
class Replay implements NoiseSource {
  private next = 0;
  constructor(
    private readonly draws: Draw[],
    private readonly tensors: Map<string, Tensor>,
  ) {}
  private take(fns: string[], shape?: number[]): Draw {
    const d = this.draws[this.next++];
    assert.ok(d, `draw ${this.next - 1}: upstream made only ${this.draws.length} draws`);
    assert.ok(fns.includes(d.fn), `draw ${d.index}: upstream called ${d.fn}, we asked for ${fns.join('/')}`);
    if (shape) assert.deepEqual(shape, d.shape, `draw ${d.index} (${d.fn}) shape`);
    return d;
  }
  randn(shape: number[]): Tensor {
    return this.tensors.get(this.take(['torch.randn', 'torch.randn_like'], shape).tensor)!.clone();
  }
  rand(shape: number[]): Tensor {
    return this.tensors.get(this.take(['torch.rand'], shape).tensor)!.clone();
  }
  randint(_low: number, _high: number, shape: number[]): Tensor {
    return this.tensors.get(this.take(['torch.randint'], shape).tensor)!.clone();
  }
  random(): number {
    const d = this.take(['random.random']);
    return d.value ?? this.tensors.get(d.tensor)!.item();
  }
  done(): void {
    assert.equal(this.next, this.draws.length, `made ${this.next} of the ${this.draws.length} recorded draws`);
  }
}

const worst = new Map<string, { err: number; allowed: number }>();

/** |a − b| ≤ atol + rtol·|b| element-wise; records the worst ratio err/allowed per group. */
function close(actual: Tensor, expected: Tensor, atol: number, rtol: number, what: string, group: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.double().toArray();
  const b = expected.double().toArray();
  let ratio = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const allowed = atol + rtol * Math.abs(b[i]);
    const r = Math.abs(a[i] - b[i]) / allowed;
    if (!(r <= ratio)) {
      ratio = r;
      at = i;
    }
  }
  const prev = worst.get(group);
  if (!prev || ratio > prev.err) worst.set(group, { err: ratio, allowed: 1 });
  assert.ok(ratio <= 1, `${what}: element ${at} = ${a[at]} vs golden ${b[at]} (atol ${atol}, rtol ${rtol})`);
}

function schedule(dir: string): { ac: Tensor; snr: Tensor; t: Map<string, Tensor> } {
  const { t } = load(dir, 'ddpm_schedule');
  const ac = t.get('alphas_cumprod')!;
  return { ac, snr: allSnr(ac), t };
}

test('all_snr from the golden alphas_cumprod (rtol 5e-6)', (t) => {
  const dir = goldenDir(t, 'noise');
  if (!dir) return;
  const { snr, t: g } = schedule(dir);
  close(snr, g.get('all_snr')!, 0, 5e-6, 'all_snr', 'all_snr');
  // sd-scripts computes all_snr before --zero_terminal_snr and never again.
  close(snr, g.get('zero_terminal_snr.all_snr')!, 0, 5e-6, 'zero_terminal_snr.all_snr', 'all_snr');
});

test('noise offset cases (atol 1e-5, rtol 1e-5)', (t) => {
  const dir = goldenDir(t, 'noise');
  if (!dir) return;
  for (const name of ['offset_0p1', 'offset_0p05_adaptive_0p01', 'offset_0p0357_adaptive_m0p1_clamped']) {
    const { c, t: g } = load(dir, name);
    const src = new Replay(c.draws_in_call_order!, g);
    const inp = c.inputs as { noise_offset: number; adaptive_noise_scale: number | null };
    const out = torch.scope(() => applyNoiseOffset(g.get('latents')!, g.get('noise_in')!, inp.noise_offset, inp.adaptive_noise_scale, src));
    src.done();
    close(out, g.get('out')!, 1e-5, 1e-5, `${name} out`, 'offset');
  }
  // No offset: the noise comes back untouched and nothing is drawn.
  const z = torch.zeros([1, 4, 2, 2]);
  assert.equal(applyNoiseOffset(z, z, null, 0.1, new Replay([], new Map())), z);
});

test('pyramid noise cases, upsampled levels and output (atol 1e-5, rtol 1e-5)', (t) => {
  const dir = goldenDir(t, 'noise');
  if (!dir) return;
  for (const name of ['pyramid_b2_c4_16x16_it6_d0p3', 'pyramid_b1_c4_64x48_it10_d0p8']) {
    const { c, t: g } = load(dir, name);
    const inp = c.inputs as { iterations: number; discount: number };
    const draws = c.draws_in_call_order!;
    // The upsampled draw of each level on its own (bilinear, align_corners=False).
    const [, , h, w] = g.get('noise_in')!.shape;
    let level = 0;
    for (const d of draws.filter((x) => x.fn === 'torch.randn')) {
      const up = torch.F.interpolate(g.get(d.tensor)!, { size: [h, w], mode: 'bilinear' });
      close(up, g.get(`upsampled.${String(level).padStart(2, '0')}`)!, 1e-5, 1e-5, `${name} upsampled.${level}`, 'pyramid');
      level++;
    }
    const src = new Replay(draws, g);
    const noiseIn = g.get('noise_in')!;
    const before = noiseIn.clone();
    const out = pyramidNoiseLike(noiseIn, inp.iterations, inp.discount, src);
    src.done();
    close(out, g.get('out')!, 1e-5, 1e-5, `${name} out`, 'pyramid');
    assert.ok(noiseIn.eq(before).all().item(), 'the input is not modified');
  }
});

test('get_noise_noisy_latents_and_timesteps pipelines (atol 1e-5, rtol 1e-5; timesteps exact)', (t) => {
  const dir = goldenDir(t, 'noise');
  if (!dir) return;
  const { ac } = schedule(dir);
  for (const name of ['pipeline_defaults', 'pipeline_offset_multires_ipgamma']) {
    const { c, t: g } = load(dir, name);
    const src = new Replay(c.draws_in_call_order!, g);
    const latents = g.get('latents')!;
    const r = noiseNoisyLatentsAndTimesteps(c.args!, ac, latents, src);
    src.done();
    assert.deepEqual(r.timesteps.toArray(), g.get('timesteps')!.toArray(), `${name} timesteps`);
    assert.equal(r.timesteps.dtype, 'int64');
    close(r.noise, g.get('noise')!, 1e-5, 1e-5, `${name} noise`, 'pipeline');
    close(r.noisyLatents, g.get('noisy_latents')!, 1e-5, 1e-5, `${name} noisy_latents`, 'pipeline');
    const v = getVelocity(ac, latents, r.noise, r.timesteps);
    close(v, g.get('velocity_target')!, 1e-5, 1e-5, `${name} velocity_target`, 'pipeline');
  }
});

test('SNR weights, v-pred scales, debiased estimation (rtol 1e-5)', (t) => {
  const dir = goldenDir(t, 'noise');
  if (!dir) return;
  const { snr } = schedule(dir);
  const { c, t: g } = load(dir, 'snr_weights');
  const ts = g.get('timesteps')!;
  const loss = g.get('loss')!;
  const cmp = (x: Tensor, key: string) => close(x, g.get(key)!, 0, 1e-5, key, 'snr');
  cmp(snrAt(snr, ts), 'all_snr_at_timesteps');
  for (const gamma of [1, 5]) {
    cmp(applySnrWeight(loss, ts, snr, gamma, false), `apply_snr_weight.gamma_${gamma}.epsilon`);
    cmp(applySnrWeight(loss, ts, snr, gamma, true), `apply_snr_weight.gamma_${gamma}.v_prediction`);
  }
  cmp(applySnrWeight(loss, ts, snr, 5, false), 'zero_terminal_snr.apply_snr_weight.gamma_5.epsilon');
  cmp(getSnrScale(ts, snr), 'get_snr_scale');
  cmp(scaleVPredictionLossLikeNoisePrediction(loss, ts, snr), 'scale_v_prediction_loss_like_noise_prediction');
  const vLike = (c.inputs as { v_pred_like_loss: number }).v_pred_like_loss;
  cmp(addVPredictionLikeLoss(loss, ts, snr, vLike), 'add_v_prediction_like_loss');
  cmp(applyDebiasedEstimation(loss, ts, snr, false), 'apply_debiased_estimation.epsilon');
  cmp(applyDebiasedEstimation(loss, ts, snr, true), 'apply_debiased_estimation.v_prediction');
  // post_process_loss applies the enabled ones in upstream's order.
  cmp(postProcessLoss(loss, ts, snr, { min_snr_gamma: 5, v_parameterization: true }), 'apply_snr_weight.gamma_5.v_prediction');
  cmp(postProcessLoss(loss, ts, snr, { debiased_estimation_loss: true }), 'apply_debiased_estimation.epsilon');
  const both = postProcessLoss(loss, ts, snr, { min_snr_gamma: 1, v_pred_like_loss: vLike });
  close(
    both,
    addVPredictionLikeLoss(g.get('apply_snr_weight.gamma_1.epsilon')!, ts, snr, vLike),
    0,
    1e-5,
    'min-snr then v_pred_like',
    'snr',
  );
});

test('huber_c schedules and conditional losses (rtol 1e-5)', (t) => {
  const dir = goldenDir(t, 'noise');
  if (!dir) return;
  const { ac } = schedule(dir);
  const { c, t: g } = load(dir, 'huber_losses');
  const inp = c.inputs as { huber_c: number; huber_scale: number };
  const ts = g.get('timesteps')!;
  const pred = g.get('model_pred')!;
  const target = g.get('target')!;
  const cmp = (x: Tensor, key: string) => close(x, g.get(key)!, 0, 1e-5, key, 'huber');
  const hc: Record<string, Tensor> = {};
  for (const schedule of ['constant', 'exponential', 'snr'] as const) {
    hc[schedule] = huberThreshold(
      { loss_type: 'huber', huber_schedule: schedule, huber_c: inp.huber_c, huber_scale: inp.huber_scale },
      ts,
      ac,
    )!;
    cmp(hc[schedule], `huber_c.${schedule}`);
    // huber_c is the same for smooth_l1; l2 needs none.
    const s = huberThreshold({ loss_type: 'smooth_l1', huber_schedule: schedule, huber_c: inp.huber_c }, ts, ac)!;
    assert.deepEqual(s.toArray(), hc[schedule].toArray());
  }
  assert.equal(huberThreshold({ loss_type: 'l2' }, ts, ac), undefined);
  for (const lt of ['l2', 'l1'] as LossType[]) {
    for (const red of ['none', 'mean'] as const) cmp(conditionalLoss(pred, target, lt, red), `conditional_loss.${lt}.${red}`);
  }
  for (const lt of ['huber', 'smooth_l1'] as LossType[]) {
    for (const schedule of ['constant', 'snr']) {
      for (const red of ['none', 'mean'] as const) {
        cmp(conditionalLoss(pred, target, lt, red, hc[schedule]), `conditional_loss.${lt}.${red}.${schedule}`);
      }
    }
  }
  assert.throws(() => conditionalLoss(pred, target, 'huber', 'none'), /needs huber_c/);
});

test('seeded sources: same seeds give the same batch, other seeds another; min ≥ max timesteps', () => {
  const args: NoiseArgs = {
    noise_offset: 0.1,
    adaptive_noise_scale: 0.01,
    multires_noise_iterations: 6,
    multires_noise_discount: 0.3,
    min_timestep: 100,
    max_timestep: 900,
  };
  const ac = torch.linspace(0.999, 0.005, 1000);
  const latents = torch.randn([2, 4, 8, 8], { generator: new torch.Generator({ seed: 9 }) });
  const run = (seed: number) => {
    const src = generatorSource({ generator: new torch.Generator({ seed }), py: new PyRandom(seed) });
    return noiseNoisyLatentsAndTimesteps(args, ac, latents, src);
  };
  const a = run(1);
  const b = run(1);
  const c = run(2);
  assert.ok(a.noise.eq(b.noise).all().item() && a.noisyLatents.eq(b.noisyLatents).all().item());
  assert.deepEqual(a.timesteps.toArray(), b.timesteps.toArray());
  assert.ok(!a.noise.eq(c.noise).all().item());
  for (const t of a.timesteps.toArray()) assert.ok(t >= 100 && t < 900);
  // Pyramid noise is renormalised to unit (unbiased) std.
  assert.ok(Math.abs(a.noise.std().item() - 1) < 1e-5);
  const fixed = sampleTimesteps(500, 500, 3, generatorSource({ generator: new torch.Generator({ seed: 1 }), py: new PyRandom(1) }));
  assert.deepEqual([fixed.dtype, fixed.toArray()], ['int64', [500, 500, 500]]);
});

test('worst error / tolerance per group (printed for the report)', () => {
  for (const [group, { err }] of worst) console.log(`# noise golden ${group}: worst |err|/tolerance = ${err.toExponential(3)}`);
});
