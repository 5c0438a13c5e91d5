// sd-scripts' dataset TOML: subset -> dataset -> [general] -> arguments -> default, and one-line
// errors naming the file and key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DatasetConfigError, loadDatasetConfig } from '../../src/data/dataset-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'lyco-toml-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('options fall back subset -> dataset -> general -> arguments -> default', () => {
  const f = write(
    'ok.toml',
    `
[general]
shuffle_caption = true
caption_extension = 'txt'
keep_tokens = 1

[[datasets]]
resolution = [768, 512]
batch_size = 4
enable_bucket = true
keep_tokens = 2

  [[datasets.subsets]]
  image_dir = '/data/a'
  class_tokens = 'sks girl'
  num_repeats = 10

  [[datasets.subsets]]
  image_dir = '/data/reg'
  is_reg = true
  keep_tokens = 0
  caption_dropout_rate = 0.1

[[datasets]]
  [[datasets.subsets]]
  image_dir = '/data/b'
`,
  );
  const [d0, d1] = loadDatasetConfig(f, { resolution: 512, flip_aug: true, keep_tokens: 5 });
  assert.deepEqual(d0.params.resolution, [768, 512]);
  assert.equal(d0.params.batch_size, 4);
  assert.equal(d0.params.enable_bucket, true);
  assert.equal(d0.params.bucket_reso_steps, 64);
  const [a, r] = d0.subsets;
  assert.equal(a.num_repeats, 10);
  assert.equal(a.class_tokens, 'sks girl');
  assert.equal(a.keep_tokens, 2, 'dataset beats general and arguments');
  assert.equal(a.caption_extension, '.txt', 'leading dot added');
  assert.equal(a.shuffle_caption, true);
  assert.equal(a.flip_aug, true, 'from the arguments');
  assert.equal(r.is_reg, true);
  assert.equal(r.keep_tokens, 0, 'subset beats dataset');
  assert.equal(r.caption_dropout_rate, 0.1);
  assert.deepEqual(d1.params.resolution, [512, 512], 'resolution from the arguments');
  assert.equal(d1.subsets[0].keep_tokens, 1, 'general beats arguments');
  assert.equal(d1.subsets[0].num_repeats, 1, 'default');
});

test('mistakes give one line naming the file and key', () => {
  const cases: [string, RegExp][] = [
    [
      '[[datasets]]\nresolution = 512\n  [[datasets.subsets]]\n  image_dir = "/x"\n  num_repeat = 3\n',
      /subsets\[0\]: unknown key "num_repeat"/,
    ],
    [
      '[[datasets]]\nresolution = 512\n  [[datasets.subsets]]\n  image_dir = "/x"\n  num_repeats = 2.5\n',
      /num_repeats: expected an integer, got 2.5/,
    ],
    ['[[datasets]]\n  [[datasets.subsets]]\n  image_dir = "/x"\n', /resolution is required/],
    ['[[datasets]]\nresolution = 512\n', /no subsets/],
    [
      '[[datasets]]\nresolution = "big"\n  [[datasets.subsets]]\n  image_dir = "/x"\n',
      /resolution must be one number or \[width, height\]/,
    ],
    [
      '[[datasets]]\nresolution = 512\n  [[datasets.subsets]]\n  metadata_file = "m.json"\n',
      /fine-tuning and ControlNet subsets are not supported/,
    ],
    ['[datasets\n', /not valid TOML/],
  ];
  cases.forEach(([text, re], i) => {
    const f = write(`bad${i}.toml`, text);
    assert.throws(
      () => loadDatasetConfig(f),
      (e: unknown) => {
        assert.ok(e instanceof DatasetConfigError, String(e));
        assert.ok(e.message.startsWith(f), e.message);
        assert.ok(!e.message.includes('\n'), e.message);
        assert.match(e.message, re);
        return true;
      },
    );
  });
});
