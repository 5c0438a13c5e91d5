// sd-scripts' long-prompt rows (max_token_length 150/225) for both padding styles, built by hand
// from the rules in sd-scripts' TokenizeStrategy._get_input_ids.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLIPTokenizer, readBpeGz, sdScriptsInputIds } from '../../src/models/tokenizer/index.ts';
import { goldenDir } from '../helpers/golden.ts';

const BOS = 49406;
const EOS = 49407;
const A = 320; // "a</w>"
const fill = (n: number, v: number) => Array<number>(n).fill(v);

test('76 tokens in 150/225 windows, pad EOS (SD1.x, SDXL encoder 1) and pad 0 (SD2.x, SDXL encoder 2)', (t) => {
  const dir = goldenDir(t, 'models/tokenizer');
  if (!dir) return;
  const vocab = readBpeGz(join(dir, 'bpe_simple_vocab_16e6.txt.gz'));
  const text = Array(76).fill('a').join(' ');
  const eosPad = new CLIPTokenizer(vocab);
  const zeroPad = new CLIPTokenizer(vocab, { pad: '!' });

  assert.deepEqual(sdScriptsInputIds(eosPad, text), [[BOS, ...fill(75, A), EOS]]);
  assert.deepEqual(sdScriptsInputIds(eosPad, text, 150), [
    [BOS, ...fill(75, A), EOS],
    [BOS, A, ...fill(74, EOS), EOS],
  ]);
  // pad 0: a row whose 75th id is a real token ends in EOS; a row that starts with padding starts BOS, EOS.
  assert.deepEqual(sdScriptsInputIds(zeroPad, text, 225), [
    [BOS, ...fill(75, A), EOS],
    [BOS, A, EOS, ...fill(73, 0), 0],
    [BOS, EOS, ...fill(74, 0), 0],
  ]);
  // Short caption in 150: pad-EOS rows repeat EOS, pad-0 second row is BOS, EOS, 0...
  assert.deepEqual(sdScriptsInputIds(zeroPad, 'a', 150)[1], [BOS, EOS, ...fill(75, 0)]);
  assert.deepEqual(sdScriptsInputIds(eosPad, 'a', 150)[1], [BOS, ...fill(76, EOS)]);
  // Over 225 tokens: truncated to 225 + EOS.
  const rows = sdScriptsInputIds(zeroPad, Array(300).fill('a').join(' '), 225);
  assert.deepEqual(rows[2], [BOS, ...fill(75, A), EOS]);
});
