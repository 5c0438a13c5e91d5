// CLIP BPE tokenizer against transformers' CLIPTokenizer (golden tokenization.json, 40 captions):
// 'basic' text cleaning = transformers without ftfy (exact), 'ftfy' = lyco's ftfy subset vs
// transformers with ftfy, pad '!' = SD2 / SDXL tokenizer_2; vocab.json+merges.txt and .gz agree.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CLIPTokenizer, readBpeGz, readVocabFiles } from '../../src/models/tokenizer/index.ts';
import { goldenDir } from '../helpers/golden.ts';

interface Variant {
  input_ids: number[];
  untruncated_ids?: number[];
  tokens?: string[];
}
interface Caption {
  index: number;
  text: string;
  hf_ftfy: Variant;
  hf_noftfy: Variant;
  hf_pad0: Variant;
}

function golden(dir: string) {
  const data = JSON.parse(readFileSync(join(dir, 'tokenization.json'), 'utf8')) as { captions: Caption[] };
  return { captions: data.captions, vocab: readBpeGz(join(dir, 'bpe_simple_vocab_16e6.txt.gz')) };
}

/** Indices of captions whose ids (padded, untruncated) or tokens differ from the reference. */
function mismatches(tok: CLIPTokenizer, captions: Caption[], pick: (c: Caption) => Variant): number[] {
  const bad: number[] = [];
  for (const c of captions) {
    const ref = pick(c);
    const same =
      JSON.stringify(tok.encode(c.text, { truncation: true, padding: true })) === JSON.stringify(ref.input_ids) &&
      (ref.untruncated_ids === undefined || JSON.stringify(tok.encode(c.text)) === JSON.stringify(ref.untruncated_ids)) &&
      (ref.tokens === undefined || JSON.stringify(tok.tokenize(c.text)) === JSON.stringify(ref.tokens));
    if (!same) bad.push(c.index);
  }
  return bad;
}

test('vocabulary derived from bpe_simple_vocab_16e6.txt.gz', (t) => {
  const dir = goldenDir(t, 'models/tokenizer');
  if (!dir) return;
  const { vocab } = golden(dir);
  assert.equal(vocab.encoder.size, 49408);
  assert.equal(vocab.merges.length, 48894);
  assert.equal(vocab.encoder.get('!'), 0);
  assert.equal(vocab.encoder.get('<|startoftext|>'), 49406);
  assert.equal(vocab.encoder.get('<|endoftext|>'), 49407);
});

test('without ftfy: equals transformers CLIPTokenizer (hf_noftfy) on 40 of 40 captions', (t) => {
  const dir = goldenDir(t, 'models/tokenizer');
  if (!dir) return;
  const { captions, vocab } = golden(dir);
  assert.equal(captions.length, 40);
  assert.deepEqual(
    mismatches(new CLIPTokenizer(vocab, { textFix: 'basic' }), captions, (c) => c.hf_noftfy),
    [],
  );
});

test('ftfy subset: equals transformers CLIPTokenizer with ftfy (hf_ftfy) on 40 of 40 captions', (t) => {
  const dir = goldenDir(t, 'models/tokenizer');
  if (!dir) return;
  const { captions, vocab } = golden(dir);
  assert.deepEqual(
    mismatches(new CLIPTokenizer(vocab, { textFix: 'ftfy' }), captions, (c) => c.hf_ftfy),
    [],
  );
});

test('pad "!" (id 0): equals hf_pad0 on 40 of 40 captions, "!" itself splits out as id 0', (t) => {
  const dir = goldenDir(t, 'models/tokenizer');
  if (!dir) return;
  const { captions, vocab } = golden(dir);
  const tok = new CLIPTokenizer(vocab, { pad: '!' });
  assert.equal(tok.padTokenId, 0);
  assert.deepEqual(
    mismatches(tok, captions, (c) => c.hf_pad0),
    [],
  );
  assert.deepEqual(tok.encode('!!!').slice(0, 5), [49406, 0, 0, 0, 49407]);
});

test('77-token truncation keeps BOS + 75 + EOS', (t) => {
  const dir = goldenDir(t, 'models/tokenizer');
  if (!dir) return;
  const { vocab } = golden(dir);
  const tok = new CLIPTokenizer(vocab);
  const ids = tok.encode('a '.repeat(100), { truncation: true, padding: true });
  assert.equal(ids.length, 77);
  assert.deepEqual([ids[0], ids[1], ids[75], ids[76]], [49406, 320, 320, 49407]);
  assert.equal(tok.encode('a '.repeat(100)).length, 102);
});

test('vocab.json + merges.txt give the same tokenizer as the .gz', (t) => {
  const dir = goldenDir(t, 'models/tokenizer');
  if (!dir) return;
  const { captions, vocab } = golden(dir);
  const tmp = mkdtempSync(join(tmpdir(), 'lyco-tok-'));
  writeFileSync(join(tmp, 'vocab.json'), JSON.stringify(Object.fromEntries(vocab.encoder)));
  writeFileSync(join(tmp, 'merges.txt'), gunzipSync(readFileSync(join(dir, 'bpe_simple_vocab_16e6.txt.gz'))));
  const fromFiles = readVocabFiles(join(tmp, 'vocab.json'), join(tmp, 'merges.txt'));
  assert.deepEqual(fromFiles.merges, vocab.merges);
  assert.deepEqual(
    mismatches(new CLIPTokenizer(fromFiles, { textFix: 'basic' }), captions, (c) => c.hf_noftfy),
    [],
  );
});
