// UNet2DConditionModel against diffusers v0.25.1 on the tiny SD1.5 / SD2 / SDXL configs:
// strict weight loading, outputs, forward-hook taps and gradients (golden README tolerances).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UNet2DConditionModel } from '../../src/models/unet/index.ts';
import type { Tensor } from '../../src/torch/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';
import { assertClose, type Diff } from './compare.ts';

// README: outputs/taps ≤ 1e-4·max|b| + 1e-6; gradients ≤ 1e-4·max|b|.
const OUT_REL = 1e-4;
const OUT_ABS = 1e-6;
const GRAD_REL = 1e-4;

export function loadTinyUnet(dir: string): UNet2DConditionModel {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const unet = new UNet2DConditionModel(config);
  const weights = torch.safetensors.load(join(dir, 'weights.safetensors'));
  unet.loadStateDict(weights, { strict: true, source: join(dir, 'weights.safetensors') });
  return unet;
}

for (const name of ['sd15_tiny', 'sd2_tiny', 'sdxl_tiny']) {
  test(`unet ${name}: outputs, taps and gradients match diffusers`, (t) => {
    const dir = goldenDir(t, `models/unet/${name}`);
    if (!dir) return;
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    const unet = loadTinyUnet(dir);
    assert.equal(unet.numParameters(), meta.num_parameters);
    const io = torch.safetensors.load(join(dir, 'io.safetensors'));
    const g = (k: string) => io.get(k)!;
    const worst: Record<string, Diff> = {};
    torch.scope(() => {
      const sample = g('in.sample').clone().requiresGrad_(true);
      const ctx = g('in.encoder_hidden_states').clone().requiresGrad_(true);
      const cond = io.has('in.text_embeds') ? { textEmbeds: g('in.text_embeds'), timeIds: g('in.time_ids') } : {};
      const seen = new Set<string>();
      const out = unet.forward(sample, g('in.timesteps'), ctx, cond, (tap: string, v: Tensor) => {
        const ref = io.get(`tap.${tap}`);
        if (!ref) return;
        seen.add(tap);
        worst[`tap.${tap}`] = assertClose(v, ref, `tap.${tap}`, OUT_REL, OUT_ABS);
      });
      const taps = [...io.keys()].filter((k) => k.startsWith('tap.')).map((k) => k.slice(4));
      assert.deepEqual([...seen].sort(), taps.sort(), 'every recorded tap was produced');
      worst['out.sample'] = assertClose(out, g('out.sample'), 'out.sample', OUT_REL, OUT_ABS);

      const loss = torch.F.mseLoss(out, g('loss.target'));
      assertClose(loss.reshape(1), g('loss.value'), 'loss.value', OUT_REL, OUT_ABS);
      loss.backward();
      worst['grad.in.sample'] = assertClose(sample.grad!, g('grad.in.sample'), 'grad.in.sample', GRAD_REL);
      worst['grad.in.encoder_hidden_states'] = assertClose(ctx.grad!, g('grad.in.encoder_hidden_states'), 'grad ctx', GRAD_REL);
      const params = new Map(unet.namedParameters());
      let nGrads = 0;
      for (const key of io.keys()) {
        if (!key.startsWith('grad.param.')) continue;
        const p = params.get(key.slice('grad.param.'.length));
        assert.ok(p, `${key} names a parameter`);
        worst[key] = assertClose(p.grad!, g(key), key, GRAD_REL);
        nGrads++;
      }
      assert.ok(nGrads >= 10);

      torch.noGrad(() => {
        const o2 = unet.forward(g('in.sample'), g('in.scalar_timestep'), g('in.encoder_hidden_states'), cond);
        worst['out.sample_scalar_timestep'] = assertClose(o2, g('out.sample_scalar_timestep'), 'scalar timestep', OUT_REL, OUT_ABS);
      });
    });
    const rel = Object.values(worst).reduce((m, d) => Math.max(m, d.rel), 0);
    t.diagnostic(`${name}: worst max|a-b|/max|b| over ${Object.keys(worst).length} tensors = ${rel.toExponential(2)}`);
    unet.dispose();
  });
}
