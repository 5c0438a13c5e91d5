// Finding the user's tokenizer files: --tokenizer, the diffusers folder, the Hugging Face cache,
// ComfyUI, A1111's venv; and one clear line when there are none.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadClipTokenizer, locateTokenizer, TokenizerNotFoundError } from '../../src/models/tokenizer/index.ts';
import { goldenDir } from '../helpers/golden.ts';

function hfFiles(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.json'), '{}');
  writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\n');
}

test('search order and what each rule finds', () => {
  const home = mkdtempSync(join(tmpdir(), 'lyco-home-'));
  const env = {};
  // A1111 venv only.
  const site = join(home, 'stable-diffusion-webui', 'venv', 'lib', 'python3.10', 'site-packages', 'open_clip');
  mkdirSync(site, { recursive: true });
  writeFileSync(join(site, 'bpe_simple_vocab_16e6.txt.gz'), '');
  let found = locateTokenizer({ home, env });
  assert.match(found.via, /^A1111 venv .*open_clip/);
  assert.equal(found.files.kind, 'bpe-gz');
  // ComfyUI beats A1111.
  hfFiles(join(home, 'ComfyUI', 'comfy', 'sd1_tokenizer'));
  assert.match(locateTokenizer({ home, env }).via, /^ComfyUI /);
  // The hub cache (refs/main's snapshot first) beats ComfyUI.
  const repo = join(home, '.cache', 'huggingface', 'hub', 'models--laion--CLIP-ViT-bigG-14-laion2B-39B-b160k');
  hfFiles(join(repo, 'snapshots', 'aaa'));
  hfFiles(join(repo, 'snapshots', 'bbb'));
  mkdirSync(join(repo, 'refs'));
  writeFileSync(join(repo, 'refs', 'main'), 'bbb\n');
  found = locateTokenizer({ home, env });
  assert.match(found.via, /^Hugging Face cache \(laion\/CLIP-ViT-bigG-14-laion2B-39B-b160k\) .*bbb$/);
  // HF_HUB_CACHE moves the cache.
  assert.doesNotMatch(locateTokenizer({ home, env: { HF_HUB_CACHE: join(home, 'elsewhere') } }).via, /^Hugging Face/);
  // The model folder beats the caches; tokenizer_2 for SDXL's second tokenizer.
  const model = join(home, 'sdxl');
  hfFiles(join(model, 'tokenizer_2'));
  assert.equal(locateTokenizer({ home, env, modelDir: model, subfolder: 'tokenizer_2' }).via, `model folder ${join(model, 'tokenizer_2')}`);
  assert.match(locateTokenizer({ home, env, modelDir: model }).via, /^Hugging Face cache/);
  // --tokenizer wins, and must hold the files.
  assert.equal(locateTokenizer({ home, env, modelDir: model, tokenizer: model, subfolder: 'tokenizer_2' }).via, `--tokenizer ${model}`);
  assert.throws(
    () => locateTokenizer({ home, env, tokenizer: join(home, 'nothing') }),
    /--tokenizer .*nothing: no vocab.json \+ merges.txt/,
  );
});

test('none found: one line naming where it looked and the --tokenizer fix', () => {
  const home = mkdtempSync(join(tmpdir(), 'lyco-empty-'));
  const model = join(home, 'model');
  let err: unknown;
  try {
    locateTokenizer({ home, env: {}, modelDir: model });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TokenizerNotFoundError);
  const msg = err.message;
  assert.equal(msg.split('\n').length, 1);
  assert.match(msg, /^no CLIP tokenizer found/);
  for (const part of [
    join(model, 'tokenizer'),
    join(home, '.cache', 'huggingface', 'hub'),
    'clip-vit-large-patch14',
    'ComfyUI',
    'A1111',
    '--tokenizer DIR',
  ]) {
    assert.ok(msg.includes(part), `message names ${part}: ${msg}`);
  }
});

test("loadClipTokenizer reads openai's .gz given with --tokenizer and says so", (t) => {
  const dir = goldenDir(t, 'models/tokenizer');
  if (!dir) return;
  const tmp = mkdtempSync(join(tmpdir(), 'lyco-gz-'));
  copyFileSync(join(dir, 'bpe_simple_vocab_16e6.txt.gz'), join(tmp, 'bpe_simple_vocab_16e6.txt.gz'));
  const { tokenizer, message } = loadClipTokenizer({ tokenizer: tmp, env: {}, home: tmp });
  assert.equal(message, `CLIP tokenizer from --tokenizer ${tmp}`);
  assert.deepEqual(tokenizer.encode('a photo of a cat'), [49406, 320, 1125, 539, 320, 2368, 49407]);
});
