// What transformers' CLIPTokenizer does to text when ftfy is NOT installed: its
// BasicTokenizer(strip_accents=False, do_split_on_punc=False) — drop control characters,
// turn whitespace into spaces, put spaces around CJK ideographs, NFC, split on whitespace,
// lower-case each piece — then the pieces joined by single spaces.

// Python's str.isspace() set (str.split() splits on these).
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python counts \x1c-\x1f as whitespace
const PY_SPACE = /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;
const CONTROL = /\p{C}/u; // Cc Cf Cs Co Cn, as unicodedata.category(c).startswith("C")
const SPACE_SEPARATOR = /\p{Zs}/u;

/** The code point ranges BERT's tokenizer treats as CJK ideographs. */
export function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export function basicClean(text: string): string {
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || SPACE_SEPARATOR.test(ch)) cleaned += ' ';
    else if (cp === 0 || cp === 0xfffd || CONTROL.test(ch)) continue;
    else if (isCjkIdeograph(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  const pieces = cleaned
    .normalize('NFC')
    .split(PY_SPACE)
    .filter((p) => p !== '');
  return pieces.map((p) => p.toLowerCase()).join(' ');
}
