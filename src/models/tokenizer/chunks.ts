// sd-scripts' long prompts (--max_token_length 75/150/225): the caption is tokenised to
// BOS + up to N tokens + EOS, padded to N+2, then cut into N/75 rows of 77 that each carry
// the first id (BOS), 75 ids, and the last id of the padded sequence. With pad = EOS (SD1.x,
// SDXL encoder 1) nothing else changes; with another pad id (SD2.x, SDXL encoder 2) a row
// whose 75th token is real ends in EOS, and a row that starts with padding starts BOS, EOS.
import type { CLIPTokenizer } from './clip-tokenizer.ts';

export type MaxTokenLength = 75 | 150 | 225;

/** Rows of `modelMaxLength` ids for one caption: 1 row without maxTokenLength, else N/75. */
export function sdScriptsInputIds(tok: CLIPTokenizer, text: string, maxTokenLength?: MaxTokenLength): number[][] {
  const model = tok.modelMaxLength;
  const maxLength = maxTokenLength === undefined ? model : maxTokenLength + 2;
  const ids = tok.encode(text, { maxLength, truncation: true, padding: true });
  if (maxLength <= model) return [ids];
  const body = model - 2;
  const rows: number[][] = [];
  for (let i = 1; i < maxLength - model + 2; i += body) {
    const row = [ids[0], ...ids.slice(i, i + body), ids[ids.length - 1]];
    if (tok.padTokenId !== tok.eosTokenId) {
      const beforeLast = row[row.length - 2];
      if (beforeLast !== tok.eosTokenId && beforeLast !== tok.padTokenId) row[row.length - 1] = tok.eosTokenId;
      if (row[1] === tok.padTokenId) row[1] = tok.eosTokenId;
    }
    rows.push(row);
  }
  return rows;
}
