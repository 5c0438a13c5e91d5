// The part of Python's ast.literal_eval that sd-scripts' `key=value` arguments use:
// numbers, True/False/None, quoted strings, tuples and lists. sd-scripts runs literal_eval on
// every --optimizer_args / --lr_scheduler_args value (train_util.py:get_optimizer,
// get_scheduler_fix), so `weight_decay=0.050` is the float 0.05 and `betas=0.9,0.99` a tuple.

export type PyValue = number | boolean | null | string | PyValue[];

export class PyLiteralError extends Error {}

class Reader {
  i = 0;
  constructor(readonly s: string) {}
  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }
  peek(): string {
    return this.s[this.i] ?? '';
  }
  done(): boolean {
    this.ws();
    return this.i >= this.s.length;
  }
}

const NUMBER = /^[+-]?(?:(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d[\d_]*)?|\d[\d_]*\.|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)/;

function atom(r: Reader): PyValue {
  r.ws();
  const c = r.peek();
  if (c === '(' || c === '[') {
    const close = c === '(' ? ')' : ']';
    r.i++;
    const items: PyValue[] = [];
    r.ws();
    let sawComma = false;
    while (r.peek() !== close) {
      if (r.i >= r.s.length) throw new PyLiteralError(`missing ${close}`);
      items.push(atom(r));
      r.ws();
      if (r.peek() === ',') {
        r.i++;
        sawComma = true;
        r.ws();
      } else if (r.peek() !== close) throw new PyLiteralError(`expected , or ${close}`);
    }
    r.i++;
    // `(1.0)` is a parenthesised number, `(1.0,)` a tuple.
    if (c === '(' && items.length === 1 && !sawComma) return items[0];
    return items;
  }
  if (c === '"' || c === "'") {
    r.i++;
    let out = '';
    while (r.peek() !== c) {
      if (r.i >= r.s.length) throw new PyLiteralError('unterminated string');
      if (r.peek() === '\\') {
        r.i++;
        const e = r.peek();
        out += e === 'n' ? '\n' : e === 't' ? '\t' : e;
      } else out += r.peek();
      r.i++;
    }
    r.i++;
    return out;
  }
  const rest = r.s.slice(r.i);
  const word = /^(True|False|None)\b/.exec(rest);
  if (word) {
    r.i += word[1].length;
    return word[1] === 'True' ? true : word[1] === 'False' ? false : null;
  }
  const num = NUMBER.exec(rest);
  if (num && num[0] !== '' && num[0] !== '+' && num[0] !== '-') {
    r.i += num[0].length;
    const t = num[0].replaceAll('_', '');
    const sign = t.startsWith('-') ? -1 : 1;
    const body = t.replace(/^[+-]/, '');
    if (/^0[xob]/i.test(body)) return sign * Number(body);
    return Number(t);
  }
  throw new PyLiteralError(`not a Python literal: ${JSON.stringify(rest.slice(0, 20))}`);
}

/** Parses one value; a top-level `a,b` is a tuple, as in Python. */
export function parsePyLiteral(text: string): PyValue {
  const r = new Reader(text);
  if (r.done()) throw new PyLiteralError('empty value');
  const first = atom(r);
  r.ws();
  if (r.peek() !== ',') {
    if (!r.done()) throw new PyLiteralError(`unexpected ${JSON.stringify(r.s.slice(r.i, r.i + 10))}`);
    return first;
  }
  const items = [first];
  while (r.peek() === ',') {
    r.i++;
    if (r.done()) break; // trailing comma: `1,` is a one-tuple
    items.push(atom(r));
    r.ws();
  }
  if (!r.done()) throw new PyLiteralError(`unexpected ${JSON.stringify(r.s.slice(r.i, r.i + 10))}`);
  return items;
}

/** Python's repr of a value, for messages and metadata (`False`, `0.05`, `(0.9, 0.99)`). */
export function pyRepr(v: PyValue): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return v.length === 1 ? `(${pyRepr(v[0])},)` : `(${v.map(pyRepr).join(', ')})`;
  return String(v);
}
