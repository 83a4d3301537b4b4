/**
 * LevelDB/protobuf integer coding: base-128 varints (7 bits per byte, low bits first, high bit =
 * "more follows") and fixed-width little-endian integers. Used by the SSTable and bundle layers.
 * 64-bit values are bigint on the way in and out of the *64 helpers; offsets that fit in 2^53 may
 * use the number versions.
 */

/** Thrown (as a plain Error) when a buffer ends inside a value; callers add the file name. */
export class TruncatedError extends Error {
  override name = 'TruncatedError';
}

/** Appends varints and fixed-width integers to a growable byte buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  private reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  byte(b: number): this {
    this.reserve(1);
    this.buf[this.length++] = b & 0xff;
    return this;
  }

  varint32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`varint32 out of range: ${value}`);
    this.reserve(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buf[this.length++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.length++] = v;
    return this;
  }

  /** Unsigned 64-bit varint; accepts a non-negative safe integer or a bigint below 2^64. */
  varint64(value: number | bigint): this {
    let v = BigInt(value);
    if (v < 0n || v >= 1n << 64n) throw new RangeError(`varint64 out of range: ${value}`);
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.length++] = Number(v);
    return this;
  }

  fixed32(value: number): this {
    this.reserve(4);
    writeFixed32(this.buf, this.length, value);
    this.length += 4;
    return this;
  }

  fixed64(value: number | bigint): this {
    this.reserve(8);
    writeFixed64(this.buf, this.length, value);
    this.length += 8;
    return this;
  }

  /** The bytes written so far (a copy, so the writer can be reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Reads varints and fixed-width integers from a byte range, throwing TruncatedError past its end. */
export class ByteReader {
  pos: number;

  constructor(
    readonly data: Uint8Array,
    start = 0,
    readonly end = data.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** A varint below 2^32; a longer or larger one (LevelDB would silently drop the high bits) throws. */
  varint32(): number {
    let result = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (this.pos >= this.end) throw new TruncatedError('varint runs past the end of the data');
      const b = this.data[this.pos++];
      if (shift === 28 && b > 0x0f) throw new TruncatedError('varint32 value does not fit in 32 bits');
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
    }
    throw new TruncatedError('varint32 longer than 5 bytes');
  }

  /** A varint below 2^64; one with bits beyond (which protobuf would silently drop) throws. */
  varint64(): bigint {
    let result = 0n;
    for (let shift = 0n; shift <= 63n; shift += 7n) {
      if (this.pos >= this.end) throw new TruncatedError('varint runs past the end of the data');
      const b = this.data[this.pos++];
      if (shift === 63n && b > 0x01) throw new TruncatedError('varint64 value does not fit in 64 bits');
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
    }
    throw new TruncatedError('varint64 longer than 10 bytes');
  }

  /** A varint64 that must fit in a JavaScript number (offsets and sizes). */
  varint64Number(): number {
    const v = this.varint64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TruncatedError(`varint64 value ${v} is too large`);
    return Number(v);
  }

  fixed32(): number {
    this.need(4);
    const v = readFixed32(this.data, this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): bigint {
    this.need(8);
    const v = readFixed64(this.data, this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new TruncatedError(`needs ${n} bytes, ${this.remaining} left`);
  }
}

export function encodeVarint32(value: number): Uint8Array {
  return new ByteWriter(5).varint32(value).finish();
}

export function encodeVarint64(value: number | bigint): Uint8Array {
  return new ByteWriter(10).varint64(value).finish();
}

export function writeFixed32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = (value >>> 16) & 0xff;
  buf[offset + 3] = (value >>> 24) & 0xff;
}

export function readFixed32(buf: Uint8Array, offset: number): number {
  return (buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16) | (buf[offset + 3] << 24)) >>> 0;
}

export function writeFixed64(buf: Uint8Array, offset: number, value: number | bigint): void {
  const v = BigInt.asUintN(64, BigInt(value));
  writeFixed32(buf, offset, Number(v & 0xffffffffn));
  writeFixed32(buf, offset + 4, Number(v >> 32n));
}

export function readFixed64(buf: Uint8Array, offset: number): bigint {
  return (BigInt(readFixed32(buf, offset + 4)) << 32n) | BigInt(readFixed32(buf, offset));
}
