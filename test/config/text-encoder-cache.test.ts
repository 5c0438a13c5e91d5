// cache_text_encoder_outputs in the config: the kohya_ss GUI key maps to it, _to_disk turns it on
// (as sd-scripts' verify_sdxl_training_args), and the options sd-scripts asserts against it are
// one error line naming the key as the user wrote it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig, textCacheConflict } from '../../src/config/index.ts';
import { errorLines } from './error-lines.ts';

const gui = '"LoRA_type": "Standard", "optimizer": "AdamW", "max_grad_norm": 1, "learning_rate": 1e-4';

test('kohya_ss sdxl_cache_text_encoder_outputs and sd-scripts cache_text_encoder_outputs(_to_disk) turn the cache on', () => {
  const r = parseConfig(`{${gui}, "sdxl": true, "sdxl_cache_text_encoder_outputs": true, "unet_lr": 1e-4, "text_encoder_lr": 0}`, 'g.json');
  assert.equal(r.config.cache_text_encoder_outputs, true);
  assert.equal(r.config.network_train_unet_only, true);
  assert.equal(r.origin.cache_text_encoder_outputs, 'sdxl_cache_text_encoder_outputs');

  const t = parseConfig('network_train_unet_only = true\ncache_text_encoder_outputs_to_disk = true\n', 'c.toml');
  assert.equal(t.config.cache_text_encoder_outputs, true);
  assert.ok(
    t.diagnostics.some(
      (d) => d.level === 'info' && d.key === 'cache_text_encoder_outputs_to_disk' && /turns cache_text_encoder_outputs on/.test(d.message),
    ),
  );
  assert.equal(parseConfig('', 'empty.toml').config.cache_text_encoder_outputs, false);
});

test('conflicts: one line naming the key (the GUI key when it came from the GUI)', () => {
  const on = 'cache_text_encoder_outputs = true\nnetwork_train_unet_only = true\n';
  for (const [line, key, value] of [
    ['shuffle_caption = true', 'shuffle_caption', 'true'],
    ['caption_dropout_rate = 0.05', 'caption_dropout_rate', '0.05'],
    ['caption_tag_dropout_rate = 0.1', 'caption_tag_dropout_rate', '0.1'],
    ['token_warmup_step = 20', 'token_warmup_step', '20'],
    ['caption_dropout_every_n_epochs = 3', 'caption_dropout_every_n_epochs', '3'],
  ]) {
    assert.deepEqual(errorLines(`${on}${line}\n`, 'c.toml'), [
      `error: c.toml: ${key}: ${value} cannot be used with cache_text_encoder_outputs: the caption changes from fetch to fetch, so its encoding cannot be cached (turn one of them off)`,
    ]);
  }
  const [te] = errorLines('cache_text_encoder_outputs = true\n', 'c.toml');
  assert.match(
    te,
    /^error: c\.toml: network_train_unet_only: is off, so the text encoders are trained, which cache_text_encoder_outputs cannot do/,
  );
  // From the GUI: its own key names.
  const [g, ...rest] = errorLines(
    `{${gui}, "sdxl_cache_text_encoder_outputs": true, "shuffle_caption": true, "unet_lr": 1e-4, "text_encoder_lr": 0}`,
    'g.json',
  );
  assert.equal(rest.length, 0);
  assert.match(g, /^error: g\.json: shuffle_caption: true cannot be used with cache_text_encoder_outputs/);
  // With a dataset_config the subsets' own options decide (checked when the datasets load).
  assert.doesNotThrow(() => parseConfig(`${on}shuffle_caption = true\ndataset_config = "d.toml"\n`, 'c.toml'));
  assert.equal(
    textCacheConflict(false, [
      {
        shuffle_caption: false,
        caption_dropout_rate: 0,
        caption_tag_dropout_rate: 0,
        token_warmup_step: 0,
        caption_dropout_every_n_epochs: 0,
      },
    ]),
    undefined,
  );
});
