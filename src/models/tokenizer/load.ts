// One call from "which model" to a ready tokenizer, saying where its files came from.
import { CLIPTokenizer, type ClipTokenizerOptions } from './clip-tokenizer.ts';
import { type LocateOptions, locateTokenizer, type TokenizerFiles } from './locate.ts';
import { type ClipVocab, readBpeGz, readVocabFiles } from './vocab.ts';

export function readVocab(files: TokenizerFiles): ClipVocab {
  return files.kind === 'hf' ? readVocabFiles(files.vocab, files.merges) : readBpeGz(files.path);
}

export interface LoadedTokenizer {
  tokenizer: CLIPTokenizer;
  /** "CLIP tokenizer from <where>", for the log. */
  message: string;
}

export function loadClipTokenizer(where: LocateOptions, opts: ClipTokenizerOptions = {}): LoadedTokenizer {
  const found = locateTokenizer(where);
  const tokenizer = new CLIPTokenizer(readVocab(found.files), opts);
  return { tokenizer, message: `CLIP tokenizer from ${found.via}` };
}
