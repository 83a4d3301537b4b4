import { fileError } from '../errors.js';

/** An IDX array (the MNIST file format): unsigned bytes with their dimensions. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/**
 * Parses an IDX file of unsigned bytes (magic 0x00000801 for labels, 0x00000803 for images),
 * already inflated if it was gzipped. Every inconsistency is a UserError naming the file.
 */
export function parseIdxBytes(buf: Uint8Array, file = 'idx'): IdxArray {
  if (buf.length < 4) throw fileError(file, `truncated: ${buf.length} bytes, not even an IDX header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint16(0) !== 0 || buf[2] !== UBYTE) {
    throw fileError(file, `not an IDX file of unsigned bytes (magic 0x${view.getUint32(0).toString(16).padStart(8, '0')})`);
  }
  const rank = buf[3];
  if (rank < 1 || rank > 4) throw fileError(file, `unsupported IDX rank ${rank}`);
  const headerBytes = 4 + 4 * rank;
  if (buf.length < headerBytes) throw fileError(file, `truncated header (${buf.length} of ${headerBytes} bytes)`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = buf.length - headerBytes;
  if (actual < expected) throw fileError(file, `truncated: header promises ${expected} bytes of data, file has ${actual}`);
  if (actual > expected) throw fileError(file, `${actual - expected} unexpected bytes after the data`);
  return { dims, data: buf.subarray(headerBytes, headerBytes + expected) };
}

/** Writes an IDX file of unsigned bytes (used by tests and tools that make small data sets). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
