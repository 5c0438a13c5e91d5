// sd-scripts spellings: --config_file TOML, argparse-style arguments, key=value lists, literal_eval.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigError,
  Diagnostics,
  editDistance,
  nearestKey,
  parseConfig,
  parseKvArgs,
  parsePyLiteral,
  parseSdArgv,
  pyRepr,
} from '../../src/config/index.ts';

test('TOML: tables are merged into one namespace, as read_config_from_file does', () => {
  const toml = `
[model_arguments]
pretrained_model_name_or_path = "sd15.safetensors"
[training_arguments]
max_train_epochs = 10
train_batch_size = 4
gradient_accumulation_steps = 2
max_grad_norm = 0.0
optimizer_type = "prodigy"
optimizer_args = ["d_coef=2", "betas=0.9,0.99", "use_bias_correction=True"]
lr_scheduler_type = "CosineAnnealingLR"
lr_scheduler_args = ["T_max=100"]
network_module = "lycoris.kohya"
network_args = ["algo=lokr", "factor=8"]
max_train_epoch_typo = 3
`;
  const r = parseConfig(toml, 'cfg.toml');
  assert.equal(r.format, 'sd-scripts-toml');
  const c = r.config;
  assert.equal(c.pretrained_model_name_or_path, 'sd15.safetensors');
  assert.equal(c.max_train_epochs, 10);
  assert.equal(c.gradient_accumulation_steps, 2);
  assert.equal(c.max_grad_norm, 0);
  assert.equal(c.optimizer_type, 'Prodigy', 'matched case-insensitively like sd-scripts');
  assert.deepEqual(c.optimizer_args, { d_coef: 2, betas: [0.9, 0.99], use_bias_correction: true });
  assert.deepEqual(c.lr_scheduler_args, { T_max: 100 });
  assert.deepEqual(c.network_args, { algo: 'lokr', factor: '8' }, 'network args stay strings, as in train_network.py');
  const unknown = r.diagnostics.filter((d) => d.code === 'unknown-key');
  assert.equal(unknown.length, 1);
  assert.match(unknown[0].message, /did you mean max_train_epochs\?/);
  assert.ok(!r.diagnostics.some((d) => d.key === 'max_grad_norm'), 'max_grad_norm given: no clipping note');
});

test('TOML: a bad value names the key; a dataset config is recognised', () => {
  assert.throws(
    () => parseConfig('train_batch_size = "four"\n', 'cfg.toml'),
    (e: unknown) =>
      e instanceof ConfigError && /^error: cfg\.toml: train_batch_size: "four" is not allowed; expected an integer ≥ 1$/.test(e.message),
  );
  assert.throws(
    () => parseConfig('[general]\nshuffle_caption = true\n[[datasets]]\nresolution = 512\n', 'ds.toml'),
    /this is a dataset config/,
  );
});

test('command-line overrides win over the file', () => {
  const r = parseConfig('train_batch_size = 2\nmax_grad_norm = 1.0\n', 'cfg.toml', { argv: ['--train_batch_size=8', '--flip_aug'] });
  assert.equal(r.config.train_batch_size, 8);
  assert.equal(r.config.flip_aug, true);
});

test('argv: nargs="*" runs to the next option, "=" spelling, flags, last occurrence wins', () => {
  const d = new Diagnostics('x');
  const out = parseSdArgv(
    [
      '--optimizer_args',
      'd_coef=1.0',
      'weight_decay=0.05',
      '--gradient_checkpointing',
      '--lr_scheduler_type=CosineAnnealingLR',
      '--seed',
      '1',
      '--seed',
      '2',
      '--noise_offset',
      '-0.1',
      '--network_args',
    ],
    d,
    'argv',
  );
  assert.deepEqual(out, {
    optimizer_args: ['d_coef=1.0', 'weight_decay=0.05'],
    gradient_checkpointing: true,
    lr_scheduler_type: 'CosineAnnealingLR',
    seed: '2',
    noise_offset: '-0.1',
    network_args: [],
  });
  assert.equal(d.items.length, 0);
});

test('argv: unique prefixes are accepted (argparse allow_abbrev), ambiguous ones and strays are warned', () => {
  const d = new Diagnostics('x');
  const out = parseSdArgv(['stray', '--max_train_epoch', '5', '--save_every', '2', '--seed'], d, 'argv');
  assert.deepEqual(out, { max_train_epochs: '5' });
  assert.deepEqual(
    d.items.map((i) => i.code),
    ['unrecognized-argument', 'abbreviated-option', 'ambiguous-option', 'missing-value'],
  );
});

test('key=value: literal_eval for optimizer args, strings for network args, one "=" only', () => {
  const lit = parseKvArgs(['d_coef=1.0', 'weight_decay=0.050', 'safeguard_warmup=False', 'betas=(0.9,0.99)', 'a=1=2', 'name=adam'], {
    literal: true,
  });
  assert.deepEqual(lit.values, { d_coef: 1, weight_decay: 0.05, safeguard_warmup: false, betas: [0.9, 0.99] });
  assert.equal(lit.problems.length, 2);
  const net = parseKvArgs(['conv_dim=4', 'preset=a=b'], { literal: false });
  assert.deepEqual(net.values, { conv_dim: '4', preset: 'a=b' });
});

test('Python literals', () => {
  assert.equal(parsePyLiteral('200'), 200);
  assert.equal(parsePyLiteral('1e-4'), 1e-4);
  assert.equal(parsePyLiteral('-0.5'), -0.5);
  assert.equal(parsePyLiteral('None'), null);
  assert.equal(parsePyLiteral("'x y'"), 'x y');
  assert.deepEqual(parsePyLiteral('0.9,0.99'), [0.9, 0.99]);
  assert.deepEqual(parsePyLiteral('[1, (2, 3)]'), [1, [2, 3]]);
  assert.equal(parsePyLiteral('(1.5)'), 1.5);
  assert.deepEqual(parsePyLiteral('(1.5,)'), [1.5]);
  assert.equal(parsePyLiteral('1_000'), 1000);
  assert.throws(() => parsePyLiteral('adam'), /not a Python literal/);
  assert.throws(() => parsePyLiteral('inf'), /not a Python literal/);
  assert.equal(pyRepr([0.9, 0.99]), '(0.9, 0.99)');
  assert.equal(pyRepr(false), 'False');
});

test('nearest key by edit distance', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(nearestKey('lerning_rate', ['learning_rate', 'unet_lr']), 'learning_rate');
  assert.equal(nearestKey('Max-Train-Epochs', ['max_train_steps', 'max_train_epochs']), 'max_train_epochs');
});
