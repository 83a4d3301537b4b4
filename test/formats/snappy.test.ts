import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snappyUncompress, SnappyError } from '../../src/formats/snappy.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test('literal-only stream', () => {
  // length 5, literal tag (5-1)<<2, "hello"
  assert.equal(text(snappyUncompress(Uint8Array.from([5, 4 << 2, ...new TextEncoder().encode('hello')]))), 'hello');
});

test('copies, including overlapping run-length copies', () => {
  // "abcabcabcabc": literal "abc" then a 1-byte-offset copy of 9 bytes at offset 3 (overlapping).
  const copy1 = 1 | ((9 - 4) << 2); // kind 1, len 4..11 in bits 2..4, offset high bits 0
  assert.equal(text(snappyUncompress(Uint8Array.from([12, 2 << 2, 97, 98, 99, copy1, 3]))), 'abcabcabcabc');
  // kind 2: 2-byte offset, len = (tag>>2)+1
  const copy2 = 2 | ((4 - 1) << 2);
  assert.equal(text(snappyUncompress(Uint8Array.from([6, 1 << 2, 120, 121, copy2, 2, 0]))), 'xyxyxy');
  // kind 3: 4-byte offset
  const copy3 = 3 | ((2 - 1) << 2);
  assert.equal(text(snappyUncompress(Uint8Array.from([3, 0, 122, copy3, 1, 0, 0, 0]))), 'zzz');
});

test('long literal with a 1-byte extended length', () => {
  const payload = new Uint8Array(100).fill(7);
  const out = snappyUncompress(Uint8Array.from([100, 60 << 2, 99, ...payload]));
  assert.deepEqual(out, payload);
});

test('corrupt streams are rejected', () => {
  assert.throws(() => snappyUncompress(Uint8Array.from([5, 4 << 2, 1, 2])), SnappyError); // literal cut short
  assert.throws(() => snappyUncompress(Uint8Array.from([4, 1 | (0 << 2), 5])), SnappyError); // copy before start
  assert.throws(() => snappyUncompress(Uint8Array.from([9, 0, 1])), SnappyError); // shorter than header
  assert.throws(() => snappyUncompress(Uint8Array.from([0x80])), SnappyError); // bad header
});

test('a length header beyond what the block can expand to is refused before allocating', () => {
  // 0xffffffff as the uncompressed length of a 3-byte block: 4 GiB would be allocated otherwise.
  assert.throws(() => snappyUncompress(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 97])), /header claims 4294967295 bytes/);
});
