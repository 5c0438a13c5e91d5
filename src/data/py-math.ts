// Python numeric semantics that bucket arithmetic depends on, so results match sd-scripts bit for bit.

/** Python's `a // b` for floats (CPython float_floor_div: fmod, then correct the rounding). */
export function pyFloorDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError('float floor division by zero');
  let mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && b < 0 !== mod < 0) {
    mod += b;
    div -= 1;
  }
  if (div === 0) return a / b < 0 ? -0 : 0;
  let floordiv = Math.floor(div);
  if (div - floordiv > 0.5) floordiv += 1;
  return floordiv;
}

/** Python's `int(x)` for a finite float: truncation toward zero. */
export function pyInt(x: number): number {
  return Math.trunc(x);
}

/** Python's `repr(float)` for the values we print (shortest round-trip, `1e-05` style exponents). */
export function pyFloatRepr(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  const s = String(x);
  // JS writes 1e-7 / 1e+21, Python 1e-07 / 1e+21.
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}
