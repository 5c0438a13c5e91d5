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

/** json.dumps(dict) with Python's default separators ", " and ": " (ensure_ascii). */
export function pyJsonDumps(obj: Record<string, unknown>): string {
  const enc = (v: unknown): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloat(v);
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    return JSON.stringify(String(v)).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  };
  return `{${Object.entries(obj)
    .map(([k, v]) => `${enc(k)}: ${enc(v)}`)
    .join(', ')}}`;
}
