// The guide's two presets, pasted verbatim (trailing comma included), read as kohya_ss ran them.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LoadedConfig, PRESETS, parseConfig } from '../../src/config/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const guidePath = join(root, '..', 'shared', 'guide', 'prodigy-ia3-lokr-guide.md');

/** The two JSON blocks of the guide, or the copies in src/config when the guide is not beside the checkout. */
function presetTexts(): { ia3: string; lokr: string } {
  if (existsSync(guidePath)) {
    const blocks = [...readFileSync(guidePath, 'utf8').matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.equal(blocks.length, 2, 'the guide has two preset blocks');
    return { ia3: blocks[0], lokr: blocks[1] };
  }
  return { ia3: PRESETS[0].text, lokr: PRESETS[1].text };
}

const texts = presetTexts();

function keysOf(text: string): string[] {
  return [...text.matchAll(/^\s*"([^"]+)":/gm)].map((m) => m[1]);
}

function inertKeys(r: LoadedConfig): string[] {
  return r.diagnostics.filter((d) => d.code === 'inert').map((d) => d.key ?? '');
}

test('the presets in src/config are the guide text byte for byte', () => {
  assert.equal(PRESETS[0].text, texts.ia3);
  assert.equal(PRESETS[1].text, texts.lokr);
  assert.throws(() => JSON.parse(texts.ia3), 'the guide text is not strict JSON (trailing comma)');
});

for (const name of ['ia3', 'lokr'] as const) {
  test(`${name} preset: every key is read or warned with its nearest key`, () => {
    const r = parseConfig(texts[name], `${name}.json`);
    const keys = keysOf(texts[name]);
    assert.equal(keys.length, name === 'ia3' ? 33 : 37);
    const warned = new Set(r.diagnostics.filter((d) => d.code === 'unknown-key').map((d) => d.key));
    for (const k of keys) assert.ok(r.readKeys.has(k) || warned.has(k), `${k} neither read nor warned`);
    assert.equal(warned.size, 0, 'the presets use only known keys');
    assert.ok(r.diagnostics.every((d) => d.level !== 'error'));
  });
}

test('iA3 preset: one warning per inert key, and the effective config drops them', () => {
  const r = parseConfig(texts.ia3, 'ia3.json');
  const inert = inertKeys(r);
  assert.deepEqual([...inert].sort(), [
    'adaptive_noise_scale',
    'lr_scheduler',
    'network_dropout',
    'noise_offset',
    'scale_weight_norms',
    'train_on_input',
  ]);
  assert.equal(new Set(inert).size, inert.length, 'exactly one warning each');
  const c = r.config;
  assert.equal(c.noise_offset, undefined);
  assert.equal(c.adaptive_noise_scale, undefined);
  assert.equal(c.network_dropout, undefined);
  assert.equal(c.scale_weight_norms, undefined);
  assert.equal(c.network_args.train_on_input, 'False');
  assert.equal(r.passed.scale_weight_norms, 1, 'what kohya_ss passed is kept for metadata');
  assert.equal(c.multires_noise_iterations, 6);
  assert.equal(c.multires_noise_discount, 0.1);
  assert.equal(c.network_module, 'lycoris.kohya');
  assert.equal(c.network_args.algo, 'ia3');
  assert.equal(c.max_train_epochs, 200, '"200" read as a number');
  assert.equal(c.seed, 31337);
  assert.equal(c.min_snr_gamma, 3);
  assert.equal(c.optimizer_type, 'Prodigy');
  assert.equal(c.lr_scheduler_type, 'CosineAnnealingLR');
  assert.deepEqual(c.lr_scheduler_args, { T_max: 200 });
  assert.equal(c.min_bucket_reso, 256);
  assert.equal(c.max_bucket_reso, 1024, 'additional_parameters win over the GUI default 2048');
  assert.equal(c.max_grad_norm, 1);
  assert.ok(r.diagnostics.some((d) => d.key === 'max_grad_norm' && d.code === 'surprising'));
});

test('LoKr preset: one warning per inert key; optimizer_args parsed like literal_eval', () => {
  const r = parseConfig(texts.lokr, 'lokr.json');
  const inert = inertKeys(r);
  assert.deepEqual([...inert].sort(), [
    'adaptive_noise_scale',
    'conv_alpha',
    'lr_scheduler',
    'network_alpha',
    'network_dropout',
    'noise_offset',
  ]);
  assert.equal(new Set(inert).size, inert.length);
  const c = r.config;
  assert.deepEqual(c.optimizer_args, { d_coef: 1, weight_decay: 0.05, safeguard_warmup: false, use_bias_correction: false });
  assert.equal(c.scale_weight_norms, 1, 'max-norm acts for LoKr');
  assert.deepEqual(c.network_args, { conv_dim: '512', conv_alpha: '512', factor: '-1', use_cp: 'False', algo: 'lokr' });
  assert.equal(c.network_dim, 1024);
});

test('--apply-all-keys applies every key as written and warns about none of them as inert', () => {
  const ia3 = parseConfig(texts.ia3, 'ia3.json', { applyAllKeys: true });
  assert.deepEqual(inertKeys(ia3).sort(), ['lr_scheduler'], 'lr_scheduler cannot act beside lr_scheduler_type');
  assert.equal(ia3.config.noise_offset, 0.05);
  assert.equal(ia3.config.adaptive_noise_scale, 0.005);
  assert.equal(ia3.config.multires_noise_iterations, 6);
  assert.equal(ia3.config.network_dropout, 0.3);
  assert.equal(ia3.config.scale_weight_norms, 1);
  assert.equal(ia3.config.network_args.train_on_input, 'True');
  assert.equal(ia3.mode, 'all');
});
