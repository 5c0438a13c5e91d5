// Building a CLIP BPE vocabulary from captions: CLIP's id layout, frequency-ordered merges,
// and files that CLIPTokenizer reads back to the same tokens.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildClipVocab, CLIPTokenizer, loadClipTokenizer, writeVocabFiles } from '../../src/models/tokenizer/index.ts';

const CORPUS = ['a red cat', 'a red dog', 'the red cat', 'A RED CAT!'];

test('ids: 512 byte symbols, one per new merged token, then BOS and EOS last', () => {
  const v = buildClipVocab(CORPUS);
  const size = Object.keys(v.vocab).length;
  assert.equal(v.vocab['!'], 0);
  assert.equal(v.vocab['!</w>'], 256);
  assert.equal(v.vocab['<|startoftext|>'], size - 2);
  assert.equal(v.vocab['<|endoftext|>'], size - 1);
  assert.equal(size, 512 + new Set(v.merges.map((m) => m.replace(' ', ''))).size + 2);
});

test('merges: most frequent pair first, until no pair occurs twice; deterministic', () => {
  const v = buildClipVocab(CORPUS);
  // "red" occurs 4 times (lower-cased), "cat" 3 times; "e d</w>" and "r e" tie at 4 and the
  // smaller string wins; "the" and "dog" occur once, so they stay in pieces.
  assert.deepEqual(v.merges, ['e d</w>', 'r ed</w>', 'a t</w>', 'c at</w>']);
  assert.deepEqual(buildClipVocab(CORPUS), v);
  assert.deepEqual(buildClipVocab(CORPUS, { maxMerges: 3 }).merges, v.merges.slice(0, 3));
});

test('written files load with CLIPTokenizer and tokenize corpus words whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lyco-vocab-'));
  try {
    const v = buildClipVocab(CORPUS);
    writeVocabFiles(dir, v);
    assert.match(readFileSync(join(dir, 'merges.txt'), 'utf8'), /^#version: 0.2\n/);
    const { tokenizer } = loadClipTokenizer({ tokenizer: dir });
    assert.deepEqual(tokenizer.tokenize('a red cat'), ['a</w>', 'red</w>', 'cat</w>']);
    const direct = new CLIPTokenizer({ encoder: new Map(Object.entries(v.vocab)), merges: v.merges, source: 'mem' });
    assert.deepEqual(tokenizer.encode('the red dog'), direct.encode('the red dog'));
    // Words never seen still encode, from byte symbols.
    assert.ok(tokenizer.tokenize('zebra').length >= 2);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
