// CLIP's vocabulary: token -> id and the ranked merge list. Read from transformers' files
// (vocab.json + merges.txt) or derived from openai's bpe_simple_vocab_16e6.txt.gz the way
// openai's SimpleTokenizer builds it (byte symbols, the same with </w>, one per merge, then
// the two special tokens).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { BYTE_UNICODE_ORDER } from './byte-unicode.ts';

/** Both openai and transformers use exactly this many merges of the 262k-line file. */
export const MERGES_USED = 49152 - 256 - 2;
export const BOS_TOKEN = '<|startoftext|>';
export const EOS_TOKEN = '<|endoftext|>';

export interface ClipVocab {
  encoder: Map<string, number>;
  /** Merge pairs in rank order, each "a b". */
  merges: string[];
  /** Where it came from, for messages. */
  source: string;
}

/** Merge lines after the header line, as transformers' CLIPTokenizer reads merges.txt. */
function mergeLines(text: string): string[] {
  return text
    .trim()
    .split('\n')
    .slice(1, MERGES_USED + 1);
}

export function readVocabFiles(vocabJson: string, mergesTxt: string): ClipVocab {
  const raw = JSON.parse(readFileSync(vocabJson, 'utf8')) as Record<string, number>;
  const encoder = new Map(Object.entries(raw));
  if (!encoder.has(EOS_TOKEN)) throw new Error(`${vocabJson}: not a CLIP vocabulary (no ${EOS_TOKEN})`);
  return { encoder, merges: mergeLines(readFileSync(mergesTxt, 'utf8')), source: `${vocabJson} + ${mergesTxt}` };
}

export function readBpeGz(path: string): ClipVocab {
  const merges = mergeLines(gunzipSync(readFileSync(path)).toString('utf8'));
  const tokens: string[] = BYTE_UNICODE_ORDER.map(([, c]) => c);
  for (const [, c] of BYTE_UNICODE_ORDER) tokens.push(`${c}</w>`);
  for (const m of merges) tokens.push(m.replace(' ', ''));
  tokens.push(BOS_TOKEN, EOS_TOKEN);
  return { encoder: new Map(tokens.map((t, i) => [t, i])), merges, source: path };
}
