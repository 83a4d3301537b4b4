import { float32Repr } from '../../src/util/float32-repr.js';

/**
 * `print(ndarray)` for float32 arrays of rank 0–2, NumPy's way: each element's shortest digits,
 * integral values as `3.`, columns aligned on the decimal point (`[[2.2322333 ]\n [0.90483624]]`).
 */
export function numpyArray(values: ArrayLike<number>, shape: readonly number[]): string {
  const parts = Array.from(values, (v) => {
    const s = float32Repr(v);
    if (/e/.test(s)) return { int: s, frac: '' };
    const [int, frac] = s.split('.');
    return { int, frac: frac === '0' ? '' : frac };
  });
  const intWidth = Math.max(...parts.map((p) => p.int.length));
  const fracWidth = Math.max(...parts.map((p) => p.frac.length));
  const cells = parts.map((p) => `${p.int.padStart(intWidth)}.${p.frac.padEnd(fracWidth)}`);
  if (shape.length === 0) return float32Repr(values[0]);
  if (shape.length === 1) return `[${cells.join(' ')}]`;
  const [rows, cols] = shape;
  const lines = Array.from({ length: rows }, (_, r) => `[${cells.slice(r * cols, (r + 1) * cols).join(' ')}]`);
  return `[${lines.join('\n ')}]`;
}

/** `print([a, b])` of a list of float32 scalars: `[5.0, 4.5]`. */
export function pythonList(values: number[]): string {
  return `[${values.map(float32Repr).join(', ')}]`;
}

/** A Python bool as printed. */
export const pythonBool = (b: boolean): string => (b ? 'True' : 'False');
