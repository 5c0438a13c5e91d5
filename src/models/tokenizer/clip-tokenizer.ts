// transformers' (slow) CLIPTokenizer: special-token literals split out first, each remaining
// piece cleaned (ftfy-style or BasicTokenizer-style), cut by CLIP's pre-tokenisation pattern,
// byte-encoded, BPE'd; ids framed as BOS ... EOS, truncated and padded.
import { basicClean } from './basic-clean.ts';
import { Bpe } from './bpe.ts';
import { bytesToUnicode } from './byte-unicode.ts';
import { fixText } from './ftfy-lite.ts';
import { BOS_TOKEN, type ClipVocab, EOS_TOKEN } from './vocab.ts';

/**
 * How text is cleaned before BPE.
 * - 'ftfy': what sd-scripts does as installed (its requirements pin ftfy, so transformers takes
 *   the ftfy path): lyco's re-implementation of the ftfy fixes that matter (ftfy-lite.ts), then
 *   whitespace collapsed and lower-cased.
 * - 'basic': transformers without ftfy (ComfyUI's environment, for instance): exact.
 */
export type TextFix = 'ftfy' | 'basic';

export interface ClipTokenizerOptions {
  /** 'eos': pad with <|endoftext|> (openai/clip-vit-large-patch14, SD1.x, SDXL encoder 1).
   *  '!': pad with id 0, as the SD2.x tokenizer and SDXL tokenizer_2 (laion), whose pad token
   *  "!" is then also an added token: every literal "!" in a caption becomes id 0. */
  pad?: 'eos' | '!';
  textFix?: TextFix;
  modelMaxLength?: number;
}

// CLIP's pre-tokenisation: special tokens, English contractions, letter runs, single digits,
// runs of everything else. Whitespace is White_Space as in Python's `regex` module.
const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/giu;
// Python's str.isspace() set, for transformers' whitespace_clean (re's \s).
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python counts \x1c-\x1f as whitespace
const PY_SPACE_RUN = /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/gu;

export function whitespaceClean(text: string): string {
  return text.replace(PY_SPACE_RUN, ' ').replace(/^ | $/g, '');
}

export interface EncodeOptions {
  /** Total length including BOS and EOS. */
  maxLength?: number;
  /** Cut to maxLength (BOS + maxLength-2 tokens + EOS). */
  truncation?: boolean;
  /** Pad to maxLength with the pad id. */
  padding?: boolean;
}

export class CLIPTokenizer {
  readonly encoder: Map<string, number>;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly modelMaxLength: number;
  readonly textFix: TextFix;
  readonly source: string;
  private readonly bpe: Bpe;
  private readonly specials: string[];

  constructor(vocab: ClipVocab, opts: ClipTokenizerOptions = {}) {
    this.encoder = vocab.encoder;
    this.bpe = new Bpe(vocab.merges);
    this.source = vocab.source;
    this.textFix = opts.textFix ?? 'ftfy';
    this.modelMaxLength = opts.modelMaxLength ?? 77;
    this.bosTokenId = this.id(BOS_TOKEN);
    this.eosTokenId = this.id(EOS_TOKEN);
    const pad = opts.pad ?? 'eos';
    this.padTokenId = pad === 'eos' ? this.eosTokenId : this.id('!');
    this.specials = pad === 'eos' ? [BOS_TOKEN, EOS_TOKEN] : [BOS_TOKEN, EOS_TOKEN, '!'];
  }

  private id(token: string): number {
    const id = this.encoder.get(token);
    if (id === undefined) throw new Error(`${this.source}: vocabulary has no ${JSON.stringify(token)}`);
    return id;
  }

  /** Splits out literal special tokens (leftmost first), as transformers' added-token trie. */
  private splitSpecials(text: string): string[] {
    const out: string[] = [];
    let pos = 0;
    let piece = '';
    while (pos < text.length) {
      const hit = this.specials.find((s) => text.startsWith(s, pos));
      if (hit) {
        if (piece) out.push(piece);
        out.push(hit);
        piece = '';
        pos += hit.length;
      } else {
        piece += text[pos];
        pos++;
      }
    }
    if (piece) out.push(piece);
    return out;
  }

  private clean(text: string): string {
    return this.textFix === 'basic' ? basicClean(text) : whitespaceClean(fixText(text)).toLowerCase();
  }

  /** BPE tokens (strings), without BOS/EOS. */
  tokenize(text: string): string[] {
    const tokens: string[] = [];
    for (const piece of this.splitSpecials(text)) {
      if (this.specials.includes(piece)) {
        tokens.push(piece);
        continue;
      }
      for (const [word] of this.clean(piece).matchAll(PATTERN)) tokens.push(...this.bpe.encode(bytesToUnicode(word)));
    }
    return tokens;
  }

  /** Unknown tokens map to <|endoftext|>, the unk token. */
  convertTokensToIds(tokens: string[]): number[] {
    return tokens.map((t) => this.encoder.get(t) ?? this.eosTokenId);
  }

  /** tokenizer(text, ...).input_ids: BOS + ids + EOS, optionally truncated and padded. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const maxLength = opts.maxLength ?? this.modelMaxLength;
    let ids = this.convertTokensToIds(this.tokenize(text));
    if (opts.truncation && ids.length > maxLength - 2) ids = ids.slice(0, maxLength - 2);
    const out = [this.bosTokenId, ...ids, this.eosTokenId];
    if (opts.padding) while (out.length < maxLength) out.push(this.padTokenId);
    return out;
  }
}
