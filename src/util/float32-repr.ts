/**
 * How Python/NumPy print a float32 scalar (`print(np.float32(x))`, `str(loss_value)`): the
 * shortest decimal that reads back as the same float32, positional for exponents -4..15 and
 * `d.ddde-05` otherwise. The book's log lines (`loss:0.41758543`) are in this form.
 */
export function float32Repr(x: number): string {
  const f = Math.fround(x);
  if (Number.isNaN(f)) return 'nan';
  if (!Number.isFinite(f)) return f > 0 ? 'inf' : '-inf';
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  let digits = f.toPrecision(9);
  for (let p = 1; p <= 9; p++) {
    const candidate = f.toPrecision(p);
    if (Math.fround(Number(candidate)) === f) {
      digits = candidate;
      break;
    }
  }
  const shortest = Number(digits);
  const [mantissa, exp] = shortest.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const positional = String(shortest);
  return positional.includes('.') ? positional : `${positional}.0`;
}
