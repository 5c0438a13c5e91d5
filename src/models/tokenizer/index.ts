// The CLIP BPE tokenizer of Stable Diffusion, offline, from the user's own vocabulary files.
export { basicClean } from './basic-clean.ts';
export { type BuildVocabOptions, type BuiltVocab, buildClipVocab, writeVocabFiles } from './build-vocab.ts';
export { type MaxTokenLength, sdScriptsInputIds } from './chunks.ts';
export { CLIPTokenizer, type ClipTokenizerOptions, type EncodeOptions, type TextFix, whitespaceClean } from './clip-tokenizer.ts';
export { fixText } from './ftfy-lite.ts';
export { type LoadedTokenizer, loadClipTokenizer, readVocab } from './load.ts';
export { type FoundTokenizer, type LocateOptions, locateTokenizer, type TokenizerFiles, TokenizerNotFoundError } from './locate.ts';
export { BOS_TOKEN, type ClipVocab, EOS_TOKEN, readBpeGz, readVocabFiles } from './vocab.ts';
