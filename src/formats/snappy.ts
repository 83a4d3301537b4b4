/**
 * Snappy block decompression (the raw format, not the framed stream). LevelDB tables may store
 * blocks Snappy-compressed (block type 1); TensorFlow's bundle writer never does, but other
 * TensorFlow tables can, and decoding is small enough to keep rather than reject such files.
 * Format: varint32 uncompressed length, then elements tagged by their low two bits —
 * 0 literal, 1/2/3 copy with a 1/2/4-byte offset back into the output.
 */
import { ByteReader, TruncatedError } from './varint.js';

export class SnappyError extends Error {
  override name = 'SnappyError';
}

export function snappyUncompress(input: Uint8Array): Uint8Array {
  const r = new ByteReader(input);
  let length: number;
  try {
    length = r.varint32();
  } catch (err) {
    if (err instanceof TruncatedError) throw new SnappyError('snappy: bad length header');
    throw err;
  }
  // Checked before allocating: no element yields more than 64 bytes from 3, so a header beyond
  // that ratio claims more than the block can hold (and up to 4 GiB could be asked for).
  if (length > Math.ceil(((input.length - r.pos) * 64) / 3)) {
    throw new SnappyError(`snappy: header claims ${length} bytes, more than a ${input.length}-byte block can expand to`);
  }
  const out = new Uint8Array(length);
  let op = 0;
  let ip = r.pos;
  const need = (n: number): void => {
    if (ip + n > input.length) throw new SnappyError('snappy: input ends inside an element');
  };
  while (ip < input.length) {
    const tag = input[ip++];
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59;
        need(extra);
        len = 0;
        for (let i = 0; i < extra; i++) len += input[ip + i] * 2 ** (8 * i);
        ip += extra;
      }
      len += 1;
      need(len);
      if (op + len > length) throw new SnappyError('snappy: output longer than its header says');
      out.set(input.subarray(ip, ip + len), op);
      ip += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      need(1);
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | input[ip++];
    } else if (kind === 2) {
      need(2);
      len = (tag >>> 2) + 1;
      offset = input[ip] | (input[ip + 1] << 8);
      ip += 2;
    } else {
      need(4);
      len = (tag >>> 2) + 1;
      offset = (input[ip] | (input[ip + 1] << 8) | (input[ip + 2] << 16) | (input[ip + 3] << 24)) >>> 0;
      ip += 4;
    }
    if (offset === 0 || offset > op) throw new SnappyError('snappy: copy offset points before the start');
    if (op + len > length) throw new SnappyError('snappy: output longer than its header says');
    // Byte by byte: a copy may overlap the bytes it produces (run-length encoding).
    for (let i = 0; i < len; i++, op++) out[op] = out[op - offset];
  }
  if (op !== length) throw new SnappyError(`snappy: output is ${op} bytes, header says ${length}`);
  return out;
}
