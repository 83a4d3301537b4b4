import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx } from '../../src/data/idx.js';
import { UserError } from '../../src/errors.js';

const labels = encodeIdx([3], Uint8Array.of(1, 2, 3));

test('parses an IDX label file and its gzipped form', () => {
  for (const bytes of [labels, gzipSync(labels)]) {
    const arr = parseIdx(bytes, 'labels');
    assert.deepEqual(arr.dims, [3]);
    assert.deepEqual([...arr.data], [1, 2, 3]);
  }
});

test('parses image dimensions big-endian', () => {
  const img = encodeIdx([2, 28, 28], new Uint8Array(2 * 784).fill(7));
  assert.deepEqual(img.subarray(0, 4), Uint8Array.of(0, 0, 8, 3));
  assert.deepEqual(parseIdx(img, 'x').dims, [2, 28, 28]);
});

test('rejects a wrong magic, a truncated file, trailing bytes and corrupt gzip with the file name', () => {
  const wrongMagic = Uint8Array.from(labels);
  wrongMagic[2] = 0x0d;
  const cases: Array<[Uint8Array, RegExp]> = [
    [wrongMagic, /^f\.idx: not an IDX file of unsigned bytes/],
    [labels.subarray(0, labels.length - 1), /^f\.idx: truncated: header promises 3 bytes of data, file has 2/],
    [labels.subarray(0, 6), /^f\.idx: truncated header/],
    [Uint8Array.of(0, 0), /^f\.idx: truncated: 2 bytes/],
    [Uint8Array.from([...labels, 9]), /1 unexpected bytes after the data/],
    [gzipSync(labels).subarray(0, 12), /corrupt gzip data/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => parseIdx(bytes, 'f.idx'), (err: unknown) => err instanceof UserError && message.test(err.message));
  }
});
