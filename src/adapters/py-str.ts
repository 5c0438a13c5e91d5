// Python's str()/json.dumps renderings that sd-scripts writes into `ss_*` metadata values.

/** str(float): 1024.0, 0.3, 1e-05, 1e+16 (repr digits, Python's exponent thresholds). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    const m = mant.includes('.') ? mant : mant;
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const s = x.toFixed(Math.max(0, mant.replace('-', '').replace('.', '').length - 1 - exp));
  return s.includes('.') ? s : `${s}.0`;
}

/** str(v) of a Python value as sd-scripts writes it: None, True/False, floats, ints, strings. */
export function pyStr(v: unknown, asFloat = false): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return asFloat || !Number.isInteger(v) ? pyFloat(v) : String(v);
  return String(v);
}

/** A number json.dumps writes as a Python float (1.0, not 1): JavaScript numbers carry no int/float tag. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A JSON string literal as json.dumps writes it with ensure_ascii: every character outside ' '..'~' escaped. */
function pyJsonString(s: string): string {
  // JSON.stringify escapes '"', '\\' and control characters (\b \f \n \r \t, else \u00xx) as Python does;
  // Python also escapes DEL and everything non-ASCII (astral characters as their surrogate pair).
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** float.__repr__ as json.dumps writes it, which spells the non-finite values NaN, Infinity, -Infinity. */
function pyJsonFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  return pyFloat(x);
}

function pyJsonNumber(x: number): string {
  if (!Number.isInteger(x)) return pyJsonFloat(x);
  // An int: all its digits (String() would switch to exponent notation from 1e21).
  return Object.is(x, -0) ? '0' : BigInt(x).toString();
}

/**
 * Python's json.dumps with its defaults: separators ", " and ": ", ensure_ascii, keys in insertion
 * order (a Map keeps integer-like keys where they were put; a plain object lists them first).
 * Integral numbers are ints, others floats in repr (1e-05, 0.0001); wrap a number in PyFloat to
 * write it as a float (1.0). null/undefined are null; bigints are ints; dict keys become strings as
 * Python's do (True → "true", None → "null").
 */
export function pyJsonDumps(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return pyJsonNumber(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return pyJsonString(v);
  if (v instanceof PyFloat) return pyJsonFloat(v.value);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : Object.entries(v as Record<string, unknown>);
  return `{${entries.map(([k, x]) => `${pyJsonString(pyJsonKey(k))}: ${pyJsonDumps(x)}`).join(', ')}}`;
}

/** A dict key as json.dumps turns it into a string. */
function pyJsonKey(k: unknown): string {
  if (typeof k === 'string') return k;
  if (k === null || k === undefined) return 'null';
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  if (typeof k === 'number') return pyJsonNumber(k);
  if (k instanceof PyFloat) return pyJsonFloat(k.value);
  return String(k);
}
