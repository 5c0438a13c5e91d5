// Bad values are one line naming the file and the key; unknown keys are warnings with the nearest key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LoadedConfig, parseConfig } from '../../src/config/index.ts';
import { errorLines } from './error-lines.ts';

function warnings(r: LoadedConfig, code?: string): string[] {
  return r.diagnostics.filter((d) => d.level === 'warning' && (code === undefined || d.code === code)).map((d) => `${d.key}: ${d.message}`);
}

const base = '"LoRA_type": "Standard", "optimizer": "AdamW", "max_grad_norm": 1';

test('a bad number is one line naming file, key and what is allowed', () => {
  const lines = errorLines(`{${base}, "train_batch_size": "abc"}`);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^error: bad\.json: train_batch_size: "abc" is not allowed; expected an integer ≥ 1$/);
});

test('a value out of range names the range', () => {
  const [line, ...rest] = errorLines(`{${base}, "train_batch_size": 0, "network_dim": -4}`);
  assert.equal(rest.length, 1, 'two bad keys, two lines');
  assert.match(line + rest[0], /network_dim: -4 is not allowed; expected an integer > 0/);
  assert.match(line + rest[0], /train_batch_size: 0 is not allowed; expected an integer ≥ 1/);
});

test('a GUI key is named as the user wrote it, not by its sd-scripts option', () => {
  const [line] = errorLines(`{${base}, "optimizer": "Prodigyy"}`);
  assert.match(line, /bad\.json: optimizer: "Prodigyy" is not an sd-scripts optimizer; did you mean Prodigy\?/);
});

test('an enum lists the allowed values', () => {
  const [line] = errorLines(`{${base}, "mixed_precision": "fp32"}`);
  assert.match(line, /mixed_precision: "fp32" is not allowed; expected one of no, fp16, bf16/);
});

test('optimizer_args that are not key=value, or not a Python literal', () => {
  const lines = errorLines(`{${base}, "optimizer_args": "d_coef weight_decay=abc"}`);
  assert.equal(lines.length, 2);
  assert.match(lines[0], /optimizer_args: "d_coef" is not key=value/);
  assert.match(lines[1], /optimizer_args: value of "weight_decay=abc" is not a Python literal/);
});

test('an unbalanced quote in additional_parameters is one line', () => {
  const lines = errorLines(`{${base}, "additional_parameters": "--lr_scheduler_args \\"T_max=200"}`);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /additional_parameters: cannot split like a shell/);
});

test('a JSON syntax error names file, line and column', () => {
  const [line] = errorLines('{\n  "epoch": 1,\n  "seed": oops\n}');
  assert.match(line, /^error: bad\.json:3:\d+: not valid JSON/);
});

test('unknown keys warn with the closest known key and are not used', () => {
  const r = parseConfig(`{${base}, "max_train_epoch": 5, "learnig_rate": 0.1}`, 'u.json');
  const w = warnings(r, 'unknown-key');
  assert.equal(w.length, 2);
  assert.match(w[0], /^max_train_epoch: unknown kohya_ss key; did you mean max_train_epochs\?/);
  assert.match(w[1], /^learnig_rate: .*did you mean learning_rate\?/);
  assert.equal(r.config.max_train_epochs, undefined);
});

test('unknown options in additional_parameters warn with the closest option', () => {
  const r = parseConfig(`{${base}, "additional_parameters": "--lr_sheduler_type CosineAnnealingLR --max_grad_nrm 0"}`, 'u.json');
  const w = warnings(r, 'unknown-option');
  assert.equal(w.length, 2);
  assert.match(w[0], /--lr_sheduler_type is not an sd-scripts option; did you mean --lr_scheduler_type\?/);
  assert.match(w[1], /did you mean --max_grad_norm\?/);
  assert.equal(r.config.lr_scheduler_type, '');
});

test('Prodigy with different non-zero group lrs is reported, naming both keys', () => {
  const r = parseConfig(
    '{"LoRA_type": "Standard", "optimizer": "Prodigy", "learning_rate": 1, "text_encoder_lr": 0.5, "unet_lr": 1.0}',
    'p.json',
  );
  const w = r.diagnostics.filter((d) => d.code === 'prodigy-group-lr');
  assert.equal(w.length, 1);
  assert.equal(w[0].key, 'text_encoder_lr, unet_lr');
  assert.match(w[0].message, /raises at the first step .*text_encoder_lr 0\.5 vs unet_lr 1/);
  // unet only (text_encoder_lr 0): one group, nothing to report
  const ok = parseConfig(
    '{"LoRA_type": "Standard", "optimizer": "Prodigy", "learning_rate": 1, "text_encoder_lr": 0, "unet_lr": 1.0}',
    'p.json',
  );
  assert.equal(ok.diagnostics.filter((d) => d.code === 'prodigy-group-lr').length, 0);
  assert.equal(ok.config.network_train_unet_only, true);
});

test('unknown Prodigy arguments are warned with the nearest argument', () => {
  const r = parseConfig(`{${base}, "optimizer": "Prodigy", "learning_rate": 1, "optimizer_args": "dcoef=2 decouple=True"}`, 'p.json');
  const w = warnings(r, 'unknown-key');
  assert.equal(w.length, 1);
  assert.match(w[0], /^optimizer_args\.dcoef: Prodigy has no argument dcoef .*did you mean d_coef\?/);
});

test('min_snr_gamma is truncated like kohya_ss 21.8 does, or kept with --apply-all-keys', () => {
  const text = `{${base}, "min_snr_gamma": 1.5}`;
  const r = parseConfig(text, 'g.json');
  assert.equal(r.config.min_snr_gamma, 1);
  assert.match(warnings(r, 'inert').join('\n'), /min_snr_gamma: 1\.5 is truncated to 1/);
  assert.equal(parseConfig(text, 'g.json', { applyAllKeys: true }).config.min_snr_gamma, 1.5);
});

test('multires discount 0 silently becomes 0.3 in kohya_ss: warned, and reproduced', () => {
  const text = `{${base}, "noise_offset_type": "Multires", "multires_noise_iterations": 6, "multires_noise_discount": 0}`;
  const r = parseConfig(text, 'm.json');
  assert.equal(r.config.multires_noise_discount, 0.3);
  const w = warnings(r, 'inert');
  assert.equal(w.length, 1);
  assert.match(w[0], /^multires_noise_discount: 0 is not passed .*default 0\.3 applies/);
  assert.equal(parseConfig(text, 'm.json', { applyAllKeys: true }).config.multires_noise_discount, 0);
});

test('a warmup with lr_scheduler_type is refused as sd-scripts refuses it', () => {
  const lines = errorLines(`{${base}, "lr_warmup": 10, "additional_parameters": "--lr_scheduler_type CosineAnnealingLR"}`);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /lr_warmup: sd-scripts raises "CosineAnnealingLR does not require num_warmup_steps"/);
});

test('max_grad_norm 0 from a newer GUI is dropped by kohya_ss (0 == False): warned', () => {
  const r = parseConfig('{"LoRA_type": "Standard", "optimizer": "AdamW", "max_grad_norm": 0}', 'c.json');
  assert.equal(r.config.max_grad_norm, 1);
  assert.match(warnings(r, 'inert').join('\n'), /max_grad_norm: 0 is dropped by kohya_ss/);
  assert.equal(parseConfig('{"LoRA_type": "Standard", "max_grad_norm": 0}', 'c.json', { applyAllKeys: true }).config.max_grad_norm, 0);
});

test('sample_every_n_steps is ignored when sample_every_n_epochs is set', () => {
  const r = parseConfig(`{${base}, "sample_every_n_epochs": 2, "sample_every_n_steps": 50, "sample_prompts": "a cat --w 512"}`, 's.json');
  assert.match(warnings(r, 'inert').join('\n'), /sample_every_n_steps: 50 is ignored/);
  assert.equal(r.hints.samplePromptsText, 'a cat --w 512');
});

test('additional --network_args replace the LoRA_type network args (argparse keeps the last)', () => {
  const r = parseConfig(
    '{"LoRA_type": "LyCORIS/LoKr", "optimizer": "AdamW", "max_grad_norm": 1, "additional_parameters": "--network_args \\"preset=attn-only\\""}',
    'n.json',
  );
  assert.deepEqual(r.config.network_args, { preset: 'attn-only' });
  assert.equal(warnings(r, 'replaced').length, 1);
});
