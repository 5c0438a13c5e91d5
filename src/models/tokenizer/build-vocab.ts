// Learns a CLIP BPE vocabulary from a text corpus (for lyco's own small models): byte-level
// BPE as CLIP's was made — words end in "</w>", the most frequent adjacent pair is merged
// until none occurs `minFrequency` times — and written in transformers' layout (vocab.json +
// merges.txt), so CLIPTokenizer reads it like openai's. Ids follow CLIP's order: the 256 byte
// symbols, the same with "</w>", one token per merge, then <|startoftext|>, <|endoftext|>
// (EOS has the top id, which the text encoder's argmax pooling relies on).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BYTE_UNICODE_ORDER } from './byte-unicode.ts';
import { CLIPTokenizer } from './clip-tokenizer.ts';
import { BOS_TOKEN, EOS_TOKEN } from './vocab.ts';

export interface BuiltVocab {
  /** token -> id, as vocab.json. */
  vocab: Record<string, number>;
  /** Merge pairs in rank order, "a b", as merges.txt after its header. */
  merges: string[];
}

export interface BuildVocabOptions {
  /** Stop after this many merges (default: until no pair is frequent enough). */
  maxMerges?: number;
  /** A pair must occur at least this often (counting word frequency) to be merged; default 2. */
  minFrequency?: number;
}

function byteSymbols(): string[] {
  const bytes = BYTE_UNICODE_ORDER.map(([, c]) => c);
  return [...bytes, ...bytes.map((c) => `${c}</w>`)];
}

/** Words of the corpus as BPE starts them (characters, "</w>" on the last), with counts. Split
 *  by CLIPTokenizer itself with no merges, so cleaning and pre-tokenisation match encoding. */
function wordCounts(corpus: readonly string[]): Map<string, { symbols: string[]; count: number }> {
  const symbols = byteSymbols();
  const bare = new CLIPTokenizer({
    encoder: new Map([...symbols, BOS_TOKEN, EOS_TOKEN].map((t, i) => [t, i])),
    merges: [],
    source: 'corpus',
  });
  const words = new Map<string, { symbols: string[]; count: number }>();
  for (const text of corpus) {
    let word: string[] = [];
    for (const tok of bare.tokenize(text)) {
      word.push(tok);
      if (!tok.endsWith('</w>')) continue;
      const key = word.join(' ');
      const w = words.get(key);
      if (w) w.count++;
      else words.set(key, { symbols: word, count: 1 });
      word = [];
    }
  }
  return words;
}

/** Replaces every adjacent (a, b) in `symbols` by a+b, left to right (as Bpe.encode merges). */
function applyMerge(symbols: string[], a: string, b: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
      out.push(a + b);
      i++;
    } else out.push(symbols[i]);
  }
  return out;
}

/** Learns merges from `corpus`. Ties go to the lexicographically smallest pair: deterministic. */
export function buildClipVocab(corpus: readonly string[], o: BuildVocabOptions = {}): BuiltVocab {
  const minFrequency = o.minFrequency ?? 2;
  const maxMerges = o.maxMerges ?? Number.POSITIVE_INFINITY;
  const words = [...wordCounts(corpus).values()];
  const merges: string[] = [];
  while (merges.length < maxMerges) {
    const pairs = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i < w.symbols.length - 1; i++) {
        const key = `${w.symbols[i]} ${w.symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + w.count);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, count] of pairs) {
      if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === undefined || bestCount < minFrequency) break;
    merges.push(best);
    const [a, b] = best.split(' ');
    for (const w of words) w.symbols = applyMerge(w.symbols, a, b);
  }
  const tokens = byteSymbols();
  const seen = new Set(tokens);
  for (const m of merges) {
    const t = m.replace(' ', '');
    // Two merge paths can spell the same token ("ab c", "a bc"); it keeps its first id.
    if (!seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  }
  tokens.push(BOS_TOKEN, EOS_TOKEN);
  return { vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges };
}

/** Writes vocab.json, merges.txt (with transformers' "#version" header line) and the small
 *  tokenizer_config.json / special_tokens_map.json a diffusers tokenizer/ folder carries. */
export function writeVocabFiles(dir: string, built: BuiltVocab, modelMaxLength = 77): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.json'), `${JSON.stringify(built.vocab)}\n`);
  writeFileSync(join(dir, 'merges.txt'), `#version: 0.2\n${built.merges.join('\n')}\n`);
  const specials = { bos_token: BOS_TOKEN, eos_token: EOS_TOKEN, unk_token: EOS_TOKEN, pad_token: EOS_TOKEN };
  writeFileSync(join(dir, 'special_tokens_map.json'), `${JSON.stringify(specials, null, 2)}\n`);
  const config = { tokenizer_class: 'CLIPTokenizer', model_max_length: modelMaxLength, do_lower_case: true, ...specials };
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
