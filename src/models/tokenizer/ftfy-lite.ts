// The parts of ftfy.fix_text (v6, default settings) that change CLIP tokens of real captions,
// re-implemented because there is no ftfy for JavaScript. Applied per line, repeated until
// the text stops changing, in ftfy's order: HTML entities (only when the line has no '<'),
// UTF-8-read-as-Windows-1252 mojibake, C1 controls, Latin ligatures, full-width forms, curly
// quotes, line breaks, control characters, NFC.
// Not covered: ftfy's partial mojibake repair inside otherwise-correct text
// (decode_inconsistent_utf8), encodings other than Windows-1252/Latin-1, byte-A0 restoration,
// lossy-sequence replacement, and the full HTML5 entity table (named entities below, plus
// numeric ones).

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  laquo: '«',
  raquo: '»',
  deg: '°',
  middot: '·',
  times: '×',
  divide: '÷',
  eacute: 'é',
  egrave: 'è',
  agrave: 'à',
  aacute: 'á',
  ccedil: 'ç',
  uuml: 'ü',
  ouml: 'ö',
  auml: 'ä',
  szlig: 'ß',
  ntilde: 'ñ',
  euro: '€',
  pound: '£',
  yen: '¥',
  cent: '¢',
  sect: '§',
  para: '¶',
  bull: '•',
  prime: '′',
  hearts: '♥',
  star: '☆',
};
const ENTITY_RE = /&(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)/g;

function unescapeHtml(text: string): string {
  return text.replace(ENTITY_RE, (whole, body: string) => {
    const name = body.slice(0, -1);
    if (name[0] === '#') {
      const cp = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : whole;
    }
    // ftfy also accepts upper-case names ("&AMP;") by lower-casing them.
    return ENTITIES[name] ?? ENTITIES[name.toLowerCase()] ?? whole;
  });
}

// Windows-1252 bytes 0x80-0x9F; "sloppy" decoding keeps the five undefined ones as C1 controls.
const CP1252_HIGH = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';
const CP1252_BYTE = new Map<string, number>();
for (let b = 0; b < 256; b++) CP1252_BYTE.set(b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80] : String.fromCharCode(b), b);

const CONT = `[\\x80-\\xbf${CP1252_HIGH}]`;
// A UTF-8 lead byte followed by a continuation byte, both read as Windows-1252: the mark of
// mojibake (ftfy's is_bad() is subtler; this plus a strict re-decode is the conservative core).
const MOJIBAKE_RE = new RegExp(`[\\xc2-\\xf4]${CONT}`, 'u');
const utf8 = new TextDecoder('utf-8', { fatal: true });

function fixEncoding(text: string): string {
  if (!MOJIBAKE_RE.test(text)) return text;
  const bytes: number[] = [];
  for (const ch of text) {
    const b = CP1252_BYTE.get(ch);
    if (b === undefined) return text;
    bytes.push(b);
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return text;
  }
}

function fixC1Controls(text: string): string {
  return text.replace(/[\x80-\x9f]/g, (c) => {
    const fixed = CP1252_HIGH[c.charCodeAt(0) - 0x80];
    return fixed.charCodeAt(0) >= 0xa0 ? fixed : c;
  });
}

const LIGATURES: Record<string, string> = {
  Ĳ: 'IJ',
  ĳ: 'ij',
  ŉ: 'ʼn',
  Ǆ: 'DŽ',
  ǅ: 'Dž',
  ǆ: 'dž',
  Ǉ: 'LJ',
  ǈ: 'Lj',
  ǉ: 'lj',
  Ǌ: 'NJ',
  ǋ: 'Nj',
  ǌ: 'nj',
  Ǳ: 'DZ',
  ǲ: 'Dz',
  ǳ: 'dz',
  ﬀ: 'ff',
  ﬁ: 'fi',
  ﬂ: 'fl',
  ﬃ: 'ffi',
  ﬄ: 'ffl',
  ﬅ: 'ſt',
  ﬆ: 'st',
};
const LIGATURE_RE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'gu');

// U+FF01..U+FFEF to their NFKC forms, and the ideographic space to a space.
function fixCharacterWidth(text: string): string {
  return text.replace(/[\u3000\uff01-\uffef]/g, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC')));
}

function uncurlQuotes(text: string): string {
  return text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
}

function fixLineBreaks(text: string): string {
  return text.replace(/\r\n|[\r\u2028\u2029\x85]/g, '\n');
}

// ftfy's remove_control_chars set: C0 except \t \n \f \r, DEL, deprecated format controls,
// interlinear annotation and object replacement marks, the BOM, musical notation format
// controls and language tags. Zero-width and soft-hyphen characters stay.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc\u{1d173}-\u{1d17a}\u{e0000}-\u{e007f}]/gu;

function fixSegment(segment: string, html: boolean): string {
  let text = segment;
  for (;;) {
    const before = text;
    if (html) text = unescapeHtml(text);
    text = fixEncoding(text);
    text = fixC1Controls(text);
    text = text.replace(LIGATURE_RE, (c) => LIGATURES[c]);
    text = fixCharacterWidth(text);
    text = uncurlQuotes(text);
    text = fixLineBreaks(text);
    text = text.replace(CONTROL_RE, '');
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}

/** ftfy.fix_text(text) as far as described above. */
export function fixText(text: string): string {
  let html = true;
  let out = '';
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    const segment = text.slice(pos, end);
    // Once a line looks like HTML source, ftfy stops unescaping for the rest of the text.
    if (segment.includes('<')) html = false;
    out += fixSegment(segment, html);
    pos = end;
  }
  return out;
}
