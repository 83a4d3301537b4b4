/**
 * What `mnist inspect` shows (TensorFlow's inspect_checkpoint): the table of tensors and the
 * values of one tensor, as text or as JSON-ready data. Kept apart from the CLI so the web UI can
 * show the same.
 */
import type { TensorValue } from '../formats/tensor-value.js';
import type { CheckpointReader } from './reader.js';

export interface TensorRow {
  name: string;
  /** Our dtype name, or TensorFlow's (e.g. DT_HALF) for dtypes we do not decode. */
  dtype: string;
  shape: number[];
  /** Bytes in the data file. */
  bytes: number;
}

export function tensorTable(reader: CheckpointReader): TensorRow[] {
  return reader.entries().map((e) => ({ name: e.name, dtype: e.dtype ?? e.tfDType, shape: [...e.shape], bytes: e.size }));
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A plain-text table: name, dtype, shape (columns padded), one tensor per line. */
export function formatTensorTable(rows: TensorRow[]): string {
  const header = { name: 'name', dtype: 'dtype', shape: 'shape' };
  const cells = rows.map((r) => ({ name: r.name, dtype: r.dtype, shape: formatShape(r.shape) }));
  const w1 = Math.max(header.name.length, ...cells.map((c) => c.name.length));
  const w2 = Math.max(header.dtype.length, ...cells.map((c) => c.dtype.length));
  return [header, ...cells].map((c) => `${c.name.padEnd(w1)}  ${c.dtype.padEnd(w2)}  ${c.shape}`).join('\n');
}

type Scalar = number | string | boolean | null;
export type Nested = Scalar | Nested[];

/** One element as JSON can hold it: NaN/±Infinity become null, int64 beyond 2^53 a string, strings UTF-8 text. */
function element(t: TensorValue, i: number): Scalar {
  switch (t.dtype) {
    case 'bool':
      return (t.data as Uint8Array)[i] !== 0;
    case 'string':
      return new TextDecoder().decode((t.data as Uint8Array[])[i]);
    case 'int64': {
      const v = (t.data as BigInt64Array)[i];
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    }
    default: {
      const v = (t.data as Float32Array)[i];
      return Number.isFinite(v) ? v : null;
    }
  }
}

/** The tensor's values as nested arrays in its shape (a scalar for shape []). */
export function tensorToNested(t: TensorValue): Nested {
  const build = (dim: number, offset: number): Nested => {
    if (dim === t.shape.length) return element(t, offset);
    const stride = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
  };
  return build(0, 0);
}

/**
 * numpy-style text of the values: nested brackets, and for more than `threshold` elements only
 * the first and last `edgeItems` of each dimension with `...` between.
 */
export function formatTensorValues(t: TensorValue, threshold = 1000, edgeItems = 3): string {
  const total = t.shape.reduce((a, b) => a * b, 1);
  const summarize = total > threshold;
  const text = (i: number): string => {
    if (t.dtype === 'string') return JSON.stringify(new TextDecoder().decode((t.data as Uint8Array[])[i]));
    if (t.dtype === 'bool') return (t.data as Uint8Array)[i] ? 'True' : 'False';
    if (t.dtype === 'int64') return (t.data as BigInt64Array)[i].toString();
    const v = (t.data as Float32Array)[i];
    if (t.dtype === 'float32' || t.dtype === 'float64') {
      if (Number.isNaN(v)) return 'nan';
      if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
      return String(Number(v.toPrecision(t.dtype === 'float32' ? 8 : 16)));
    }
    return String(v);
  };
  const build = (dim: number, offset: number, indent: string): string => {
    if (dim === t.shape.length) return text(offset);
    const n = t.shape[dim];
    const stride = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    let indices = Array.from({ length: n }, (_, i) => i);
    const elided = summarize && n > 2 * edgeItems;
    if (elided) indices = [...indices.slice(0, edgeItems), -1, ...indices.slice(n - edgeItems)];
    const parts = indices.map((i) => (i < 0 ? '...' : build(dim + 1, offset + i * stride, indent + ' ')));
    if (dim === t.shape.length - 1) return `[${wrap(parts, indent.length + 1)}]`;
    return `[${parts.join(`,\n${'\n'.repeat(t.shape.length - dim - 2)}${indent} `)}]`;
  };
  return build(0, 0, '');
}

/** Joins the innermost dimension's items with ", ", breaking lines at about 75 columns as numpy does. */
function wrap(items: string[], indent: number, width = 75): string {
  let out = '';
  let column = indent + 1;
  items.forEach((item, i) => {
    const piece = i === 0 ? item : `, ${item}`;
    if (i > 0 && column + piece.length + 1 > width) {
      out += `,\n${' '.repeat(indent + 1)}${item}`;
      column = indent + 1 + item.length;
    } else {
      out += piece;
      column += piece.length;
    }
  });
  return out;
}
