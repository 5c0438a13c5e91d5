// GPT-2's reversible byte -> printable-character table that CLIP's BPE works on: printable
// Latin-1 bytes map to themselves, the rest to U+0100 onwards, so BPE never sees spaces or
// control characters. The table's order is also the order of CLIP's first 256 vocabulary ids.

/** [byte, character] pairs in vocabulary order ('!' first, so '!' has id 0). */
export const BYTE_UNICODE_ORDER: ReadonlyArray<readonly [number, string]> = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const pairs: [number, string][] = printable.map((b) => [b, String.fromCodePoint(b)]);
  const taken = new Set(printable);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (taken.has(b)) continue;
    pairs.push([b, String.fromCodePoint(256 + n)]);
    n++;
  }
  return pairs;
})();

/** Character for each byte value, indexed by byte. */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const out = new Array<string>(256);
  for (const [b, c] of BYTE_UNICODE_ORDER) out[b] = c;
  return out;
})();

const encoder = new TextEncoder();

/** The UTF-8 bytes of `s` spelled with the table's characters. */
export function bytesToUnicode(s: string): string {
  let out = '';
  for (const b of encoder.encode(s)) out += BYTE_TO_UNICODE[b];
  return out;
}
