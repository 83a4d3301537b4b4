import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileError } from '../errors.js';

/** An IDX array (the MNIST file format): unsigned bytes with their dimensions. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/**
 * Parses an IDX file of unsigned bytes (magic 0x00000801 for labels, 0x00000803 for images).
 * Gzipped files (`*.gz`, or any file starting with the gzip magic) are inflated first.
 * Every inconsistency is a UserError naming the file.
 */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  let buf = bytes;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw fileError(file, `corrupt gzip data (${(err as Error).message})`);
    }
  }
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

export function readIdxFile(file: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fileError(file, code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  return parseIdx(bytes, file);
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
