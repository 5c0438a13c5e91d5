// Caption processing draws the same random numbers as sd-scripts' process_caption under
// CPython's `random`: the expected strings below were produced by CPython 3.11 running that
// algorithm with random.seed(42).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CaptionOptions, expandWildcards, processCaption } from '../../src/data/captions.ts';
import { PyRandom } from '../../src/data/py-random.ts';
import { SUBSET_DEFAULTS } from '../../src/data/subset-params.ts';

const base: CaptionOptions = { ...SUBSET_DEFAULTS, shuffle_caption: true };
const caption = 'sks dog, red collar, sitting, grass, sunny day, park, looking at viewer';
const state = { epoch: 1, step: 0 };

test('PyRandom matches CPython random', () => {
  const r = new PyRandom(31337);
  assert.deepEqual([r.random(), r.random(), r.random()], [0.6799777634765871, 0.170737440152662, 0.949129757244903]);
  const s = new PyRandom(2n ** 40n + 5n);
  const l = [...Array(10).keys()];
  s.shuffle(l);
  assert.deepEqual(l, [1, 2, 3, 6, 7, 0, 5, 4, 9, 8]);
  assert.equal(s.randint(0, 100), 17);
  const t = new PyRandom(7);
  assert.deepEqual(
    Array.from({ length: 10 }, () => t.randint(0, 3)),
    [2, 1, 3, 0, 0, 0, 2, 0, 1, 0],
  );
});

test('shuffle_caption with keep_tokens, tag dropout and keep_tokens_separator match sd-scripts', () => {
  const rng = new PyRandom(42);
  const a = [0, 1, 2].map(() => processCaption(caption, { ...base, keep_tokens: 1 }, state, rng));
  assert.deepEqual(a, [
    'sks dog, sunny day, sitting, grass, park, red collar, looking at viewer',
    'sks dog, sunny day, red collar, grass, park, looking at viewer, sitting',
    'sks dog, sunny day, sitting, grass, red collar, park, looking at viewer',
  ]);
  const b = [0, 1, 2].map(() => processCaption(caption, { ...base, keep_tokens: 2, caption_tag_dropout_rate: 0.3 }, state, rng));
  assert.deepEqual(b, [
    'sks dog, red collar, sunny day, park, looking at viewer, sitting',
    'sks dog, red collar, sitting, looking at viewer, grass, park',
    'sks dog, red collar, park, looking at viewer, grass',
  ]);
  const c = [0, 1, 2, 3].map(() =>
    processCaption(
      'sks dog ||| red collar, sitting, grass ||| masterpiece, best',
      { ...base, keep_tokens_separator: '|||', caption_dropout_rate: 0.25 },
      state,
      rng,
    ),
  );
  assert.deepEqual(c, [
    'sks dog, sitting, red collar, grass, masterpiece, best',
    'sks dog, grass, red collar, sitting, masterpiece, best',
    'sks dog, red collar, sitting, grass, masterpiece, best',
    'sks dog, sitting, red collar, grass, masterpiece, best',
  ]);
});

test('same seed, same captions; caption_dropout_every_n_epochs drops whole epochs', () => {
  const run = (seed: number) => {
    const rng = new PyRandom(seed);
    return Array.from({ length: 5 }, () => processCaption(caption, { ...base, caption_dropout_rate: 0.5 }, state, rng));
  };
  assert.deepEqual(run(3), run(3));
  assert.notDeepEqual(run(3), run(4));
  assert.ok(run(3).includes(''));
  const o = { ...SUBSET_DEFAULTS, caption_dropout_every_n_epochs: 3 };
  const rng = new PyRandom(0);
  assert.equal(processCaption(caption, o, { epoch: 3, step: 0 }, rng), '');
  assert.equal(processCaption(caption, o, { epoch: 4, step: 0 }, rng), caption);
});

test('prefix/suffix, secondary separator and wildcards', () => {
  const rng = new PyRandom(1);
  const o = { ...SUBSET_DEFAULTS, caption_prefix: 'photo of', caption_suffix: 'hd', secondary_separator: ';;;' };
  assert.equal(processCaption('sks;;;dog', o, state, rng), 'photo of sks,dog hd');
  const w = expandWildcards('a {red|blue} ball, {{literal}}', new PyRandom(2));
  assert.match(w, /^a (red|blue) ball, \{literal\}$/);
});
