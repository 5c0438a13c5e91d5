// The loop's small parts: prompt lines, network config mapping, the loss window, grad clipping,
// the keep-last-n arithmetic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS, parseConfig } from '../../src/config/index.ts';
import * as torch from '../../src/torch/index.ts';
import { saveName } from '../../src/train/artifacts.ts';
import { clipGradNorm } from '../../src/train/grad-clip.ts';
import { LossRecorder } from '../../src/train/loss-recorder.ts';
import { networkConfigFromTrain } from '../../src/train/network-config.ts';
import { parsePromptLine } from '../../src/train/sample-prompts.ts';

test('sample prompt lines in sd-scripts format', () => {
  assert.deepEqual(parsePromptLine('masterpiece, sks cat --n lowres, bad --w 768 --h 512 --d 42 --l 6.5 --s 20'), {
    prompt: 'masterpiece, sks cat',
    negativePrompt: 'lowres, bad',
    width: 768,
    height: 512,
    seed: 42,
    scale: 6.5,
    steps: 20,
  });
  assert.equal(parsePromptLine('# a comment'), undefined);
  assert.equal(parsePromptLine('   '), undefined);
  assert.deepEqual(parsePromptLine('plain'), { prompt: 'plain', negativePrompt: '', width: 512, height: 512, scale: 7.5, steps: 30 });
});

test('guide presets map to the LyCORIS network kohya_ss 21.8 built', () => {
  const [ia3, lokr] = ['ia3', 'lokr'].map((n) => parseConfig(PRESETS.find((p) => p.name === n)?.text as string, `${n}.json`).config);
  const a = networkConfigFromTrain(ia3, false);
  assert.equal(a.networkModule, 'lycoris.kohya');
  assert.equal(a.algo, 'ia3');
  assert.equal(a.trainOnInput, false, 'train_on_input was never read by LyCORIS 1.8');
  assert.equal(a.dropout, undefined, 'network_dropout is inert');
  const k = networkConfigFromTrain(lokr, false);
  assert.deepEqual([k.algo, k.networkDim, k.networkAlpha, k.convDim, k.convAlpha, k.factor], ['lokr', 1024, 1024, 512, 512, -1]);
  const all = parseConfig(PRESETS[0].text, 'ia3.json', { applyAllKeys: true }).config;
  const w = networkConfigFromTrain(all, true);
  assert.equal(w.trainOnInput, true);
  assert.equal(w.ia3TrainOnInputAsWritten, true);
});

test('loss/average: mean of epoch 1, then a window of one epoch', () => {
  const r = new LossRecorder();
  r.add(0, 0, 1);
  r.add(0, 1, 3);
  assert.equal(r.average, 2);
  r.add(1, 0, 5); // replaces slot 0 (1) → (5 + 3) / 2
  assert.equal(r.average, 4);
  const s = new LossRecorder();
  s.load(r.state());
  assert.equal(s.average, 4);
});

test('clip_grad_norm_: total L2 norm, scaled to max_norm only when above it', () => {
  const a = torch.zeros([2], { requiresGrad: true }).keep();
  const b = torch.zeros([1], { requiresGrad: true }).keep();
  a.grad = torch.tensor([3, 0]).keep();
  b.grad = torch.tensor([4]).keep();
  assert.equal(clipGradNorm([a, b], 1), 5);
  const got = [...(a.grad as torch.Tensor).toArray(), ...(b.grad as torch.Tensor).toArray()];
  for (const [i, v] of [0.6, 0, 0.8].entries()) assert.ok(Math.abs(got[i] - v / (1 + 1e-6 / 5)) < 1e-6, `${got}`);
  assert.ok(Math.abs(clipGradNorm([a, b], 10) - 1) < 1e-5);
  assert.ok(Math.abs((a.grad as torch.Tensor).toArray()[0] - 0.6) < 1e-5, 'below max_norm: unchanged');
  for (const t of [a, b]) t.dispose();
});

test('save names follow sd-scripts', () => {
  const cfg = parseConfig('{}', 'x.json').config;
  assert.match(saveName({ ...cfg, output_name: 'me' }, '/o', 'step', 12).file, /\/o\/me-step00000012\.safetensors$/);
  assert.match(saveName(cfg, '/o', 'epoch', 3).stateDir, /\/o\/epoch-000003-state$/);
  assert.match(saveName(cfg, '/o', 'final', 0).file, /\/o\/last\.safetensors$/);
});
