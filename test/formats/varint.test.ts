import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ByteReader,
  ByteWriter,
  encodeVarint32,
  encodeVarint64,
  readFixed32,
  readFixed64,
  TruncatedError,
  writeFixed32,
  writeFixed64,
} from '../../src/formats/varint.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('varint32 encodings', () => {
  assert.equal(hex(encodeVarint32(0)), '00');
  assert.equal(hex(encodeVarint32(1)), '01');
  assert.equal(hex(encodeVarint32(127)), '7f');
  assert.equal(hex(encodeVarint32(128)), '8001');
  assert.equal(hex(encodeVarint32(300)), 'ac02');
  assert.equal(hex(encodeVarint32(0xffffffff)), 'ffffffff0f');
  assert.throws(() => encodeVarint32(-1), RangeError);
  assert.throws(() => encodeVarint32(2 ** 32), RangeError);
});

test('varint64 encodings', () => {
  assert.equal(hex(encodeVarint64(0)), '00');
  assert.equal(hex(encodeVarint64(2 ** 32)), '8080808010');
  assert.equal(hex(encodeVarint64(0xffffffffffffffffn)), 'ffffffffffffffffff01');
  assert.throws(() => encodeVarint64(1n << 64n), RangeError);
});

test('varints round-trip at every 7-bit boundary', () => {
  const w = new ByteWriter(1);
  const values32: number[] = [];
  const values64: bigint[] = [];
  for (let bits = 0; bits <= 32; bits++) {
    for (const v of [2 ** bits - 1, 2 ** bits, 2 ** bits + 1]) if (v <= 0xffffffff) values32.push(v);
  }
  for (let bits = 0n; bits <= 64n; bits++) {
    for (const v of [(1n << bits) - 1n, 1n << bits]) if (v < 1n << 64n) values64.push(v);
  }
  for (const v of values32) w.varint32(v);
  for (const v of values64) w.varint64(v);
  const r = new ByteReader(w.finish());
  for (const v of values32) assert.equal(r.varint32(), v);
  for (const v of values64) assert.equal(r.varint64(), v);
  assert.equal(r.remaining, 0);
});

test('truncated varints and fixed values throw TruncatedError', () => {
  assert.throws(() => new ByteReader(Uint8Array.from([0x80, 0x80])).varint32(), TruncatedError);
  assert.throws(() => new ByteReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).varint32(), TruncatedError);
  assert.throws(() => new ByteReader(new Uint8Array(3)).fixed32(), TruncatedError);
  assert.throws(() => new ByteReader(new Uint8Array(8), 1).fixed64(), TruncatedError);
  assert.throws(() => new ByteReader(new Uint8Array(4), 0, 2).bytes(3), TruncatedError);
});

test('fixed32 and fixed64 are little-endian', () => {
  const b = new Uint8Array(12);
  writeFixed32(b, 0, 0x12345678);
  writeFixed64(b, 4, 0xdb4775248b80fb57n);
  assert.equal(hex(b), '78563412' + '57fb808b247547db');
  assert.equal(readFixed32(b, 0), 0x12345678);
  assert.equal(readFixed64(b, 4), 0xdb4775248b80fb57n);
  writeFixed32(b, 0, 0xffffffff);
  assert.equal(readFixed32(b, 0), 0xffffffff);
});

test('varints with bits beyond their width are refused, not wrapped', () => {
  // 2^32 as a varint32, and a 10th byte carrying bits beyond 2^64: LevelDB/protobuf drop them silently.
  assert.throws(() => new ByteReader(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x10])).varint32(), /does not fit in 32 bits/);
  assert.equal(new ByteReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])).varint32(), 0xffffffff);
  assert.throws(() => new ByteReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).varint64(), /does not fit in 64 bits/);
  assert.throws(() => new ByteReader(encodeVarint64(2n ** 53n)).varint64Number(), TruncatedError);
});
