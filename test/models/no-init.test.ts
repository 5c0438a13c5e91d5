// Building modules without random init (src/nn/init.ts): the full-size classes cost no memory
// until weights are loaded, their parameter counts equal golden param_counts.json, and a model
// built this way and then loaded computes exactly what a normally built one does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLIP_L, CLIPTextModel, CLIPTextModelWithProjection, OPEN_CLIP_BIGG, OPEN_CLIP_H } from '../../src/models/clip/index.ts';
import { type Family, unetConfig, vaeConfig } from '../../src/models/convert/index.ts';
import { UNet2DConditionModel } from '../../src/models/unet/index.ts';
import { AutoencoderKL } from '../../src/models/vae/index.ts';
import { initSkipped, Linear, withoutInit } from '../../src/nn/index.ts';
import * as torch from '../../src/torch/index.ts';
import { goldenDir } from '../helpers/golden.ts';

const MiB = 2 ** 20;
const rss = () => process.memoryUsage().rss;

test('full-size param counts of the real classes equal golden param_counts.json', (t) => {
  const golden = goldenDir(t, 'models/conversion');
  if (!golden) return;
  const want = JSON.parse(readFileSync(join(golden, 'param_counts.json'), 'utf8')).counts as Record<string, Record<string, number>>;
  const families: [string, Family][] = [
    ['sd15', 'sd1'],
    ['sd2', 'sd2'],
    ['sdxl', 'sdxl'],
  ];
  const textEncoders: Record<Family, () => Record<string, CLIPTextModel>> = {
    sd1: () => ({ text_encoder: new CLIPTextModel(CLIP_L) }),
    sd2: () => ({ text_encoder: new CLIPTextModel(OPEN_CLIP_H) }),
    sdxl: () => ({ text_encoder: new CLIPTextModel(CLIP_L), text_encoder_2: new CLIPTextModelWithProjection(OPEN_CLIP_BIGG) }),
  };
  for (const [name, family] of families) {
    const got = withoutInit(
      () => {
        const counts: Record<string, number> = {
          unet: new UNet2DConditionModel(unetConfig(family)).numParameters(),
          vae: new AutoencoderKL(vaeConfig(family)).numParameters(),
        };
        for (const [k, m] of Object.entries(textEncoders[family]())) counts[k] = m.numParameters();
        return counts;
      },
      { device: 'meta' },
    );
    assert.deepEqual(got, want[name], name);
  }
});

test('withoutInit on the CPU: SD1.5 and SDXL UNets (3.4 / 10.3 GB of float32) leave RSS flat', () => {
  const before = rss();
  const sd15 = withoutInit(() => new UNet2DConditionModel(unetConfig('sd1')));
  assert.equal(sd15.numParameters(), 859_520_964);
  const w = [...sd15.namedParameters()][0][1];
  assert.equal(w.device, 'cpu');
  assert.equal(w.dtype, 'float32');
  const afterSd15 = rss();
  sd15.dispose();
  const sdxl = withoutInit(() => new UNet2DConditionModel(unetConfig('sdxl')));
  assert.equal(sdxl.numParameters(), 2_567_463_684);
  const afterSdxl = rss();
  sdxl.dispose();
  // A random fill would add the full size to RSS; module objects and allocator bookkeeping stay small.
  assert.ok(afterSd15 - before < 400 * MiB, `SD1.5 UNet: RSS +${((afterSd15 - before) / MiB).toFixed(0)} MiB`);
  assert.ok(afterSdxl - before < 600 * MiB, `SDXL UNet: RSS +${((afterSdxl - before) / MiB).toFixed(0)} MiB`);
});

test('withoutInit: dtype option, nesting, and init restored after a throw', () => {
  const half = withoutInit(() => new Linear(8, 4), { dtype: 'float16' });
  assert.equal(half.get('weight').dtype, 'float16');
  assert.equal(half.get('weight').requiresGrad, true);
  assert.throws(() =>
    withoutInit(() => {
      assert.equal(initSkipped(), true);
      throw new Error('boom');
    }),
  );
  assert.equal(initSkipped(), false);
  // Outside, layers initialise as torch does: U(-1/√in, 1/√in), not empty storage.
  torch.manualSeed(0);
  const l = new Linear(64, 32);
  const max = l.get('weight').abs().max().item();
  assert.ok(max > 0 && max <= 1 / 8, `init bound ${max}`);
});

test('a UNet built withoutInit and then loaded equals one built normally (sd15_tiny)', (t) => {
  const dir = goldenDir(t, 'models/unet/sd15_tiny');
  if (!dir) return;
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const weights = torch.safetensors.load(join(dir, 'weights.safetensors'));
  const normal = new UNet2DConditionModel(config);
  normal.loadStateDict(weights, { strict: true });
  const lazy = withoutInit(() => new UNet2DConditionModel(config));
  lazy.loadStateDict(weights, { strict: true });
  const io = torch.safetensors.load(join(dir, 'io.safetensors'));
  torch.noGrad(() =>
    torch.scope(() => {
      const args = [io.get('in.sample')!, io.get('in.timesteps')!, io.get('in.encoder_hidden_states')!] as const;
      const a = normal.forward(...args);
      const b = lazy.forward(...args);
      assert.equal(a.sub(b).abs().max().item(), 0);
    }),
  );
  for (const m of [normal, lazy]) m.dispose();
  weights.dispose();
  io.dispose();
});
