import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  bytesFeature,
  decodeExample,
  encodeExample,
  fixedLenFeature,
  floatFeature,
  int64Feature,
  parseSingleExample,
  varLenFeature,
} from '../../src/formats/example.js';
import { readTFRecordFileSync } from '../../src/formats/tfrecord.js';
import { UserError } from '../../src/errors.js';

const FIXTURES = path.join(import.meta.dirname, '../fixtures/tfrecord_ij_small');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

// Worked out by hand from the protobuf encoding rules (tag = field << 3 | wire type 2 for
// length-delimited; packed repeated scalars; map entries as {1: key, 2: value}).
const FLOAT_A_1_5 = '0a0f 0a0d 0a0161 1208 1206 0a04 0000c03f'; // {a: float_list [1.5]}
const BYTES_B_HI = '0a0d 0a0b 0a0162 1206 0a04 0a026869'; // {b: bytes_list ["hi"]}
const INT64_C_MINUS1 = '0a15 0a13 0a0163 120e 1a0c 0a0a ffffffffffffffffff01'; // {c: int64_list [-1]}

test('encodes each kind of Feature to the hand-computed bytes', () => {
  assert.equal(hex(encodeExample({ a: floatFeature(1.5) })), hex(bytes(FLOAT_A_1_5)));
  assert.equal(hex(encodeExample({ b: bytesFeature('hi') })), hex(bytes(BYTES_B_HI)));
  assert.equal(hex(encodeExample({ c: int64Feature(-1) })), hex(bytes(INT64_C_MINUS1)));
  assert.equal(hex(encodeExample({ c: int64Feature(-1n) })), hex(bytes(INT64_C_MINUS1)));
  // {d: int64_list [300, 2]}: packed varints ac02 02 (3 bytes)
  assert.equal(hex(encodeExample({ d: int64Feature(300, 2) })), hex(bytes('0a0e 0a0c 0a0164 1207 1a05 0a03 ac0202')));
});

test('map entries are written in sorted key order, matching TensorFlow\'s file byte for byte', () => {
  const tf = readTFRecordFileSync(path.join(FIXTURES, 'data.tfrecords-00000-of-00002'))[0];
  assert.equal(hex(encodeExample({ j: int64Feature(0), i: int64Feature(0) })), hex(tf));
});

test('decodes hand-made bytes; int64 always comes back as bigint, exactly', () => {
  assert.deepEqual(decodeExample(bytes(FLOAT_A_1_5)), { a: { floatList: Float32Array.of(1.5) } });
  const b = decodeExample(bytes(BYTES_B_HI)).b;
  assert.ok('bytesList' in b);
  assert.equal(Buffer.from(b.bytesList[0]).toString(), 'hi');
  assert.deepEqual(decodeExample(bytes(INT64_C_MINUS1)), { c: { int64List: [-1n] } });
  const big = 2n ** 62n + 1n; // not representable as a double
  assert.deepEqual(decodeExample(encodeExample({ x: int64Feature(big, -(2n ** 63n)) })).x, { int64List: [big, -(2n ** 63n)] });
  assert.throws(() => int64Feature(2 ** 60), UserError);
});

test('real TF records decode to {i, j}', () => {
  const got = ['00000', '00001'].flatMap((s) =>
    readTFRecordFileSync(path.join(FIXTURES, `data.tfrecords-${s}-of-00002`)).map((r) =>
      parseSingleExample(r, { i: fixedLenFeature([], 'int64'), j: fixedLenFeature([], 'int64') }),
    ),
  );
  assert.deepEqual(
    got.map((e) => [e.i.values[0], e.j.values[0]]),
    [
      [0n, 0n],
      [0n, 1n],
      [1n, 0n],
      [1n, 1n],
    ],
  );
  assert.deepEqual(got[0].i.shape, []);
});

test('parseSingleExample: the book\'s MNIST record', () => {
  const raw = Uint8Array.from({ length: 784 }, (_, i) => i % 256);
  const rec = encodeExample({ pixels: int64Feature(784), label: int64Feature(7), image_raw: bytesFeature(raw) });
  const ex = parseSingleExample(rec, {
    image_raw: fixedLenFeature([], 'string'),
    pixels: fixedLenFeature([], 'int64'),
    label: fixedLenFeature([], 'int64'),
  });
  assert.deepEqual(ex.pixels.values, BigInt64Array.of(784n));
  assert.deepEqual(ex.label.values, BigInt64Array.of(7n));
  assert.deepEqual(Array.from((ex.image_raw.values as Uint8Array[])[0]), Array.from(raw));
});

test('parseSingleExample: shapes, defaults, VarLen and errors', () => {
  const rec = encodeExample({ v: floatFeature(1, 2, 3, 4, 5, 6), s: bytesFeature('x', 'yz'), n: int64Feature(5, 6, 7) });
  const ex = parseSingleExample(rec, {
    v: fixedLenFeature([2, 3], 'float32'),
    missing: fixedLenFeature([2], 'int64', 9),
    missingList: fixedLenFeature([3], 'float32', [0.5, 1.5, 2.5]),
    s: varLenFeature('string'),
    n: varLenFeature('int64'),
    none: varLenFeature('float32'),
  });
  assert.deepEqual(ex.v, { dtype: 'float32', shape: [2, 3], values: Float32Array.of(1, 2, 3, 4, 5, 6) });
  assert.deepEqual(ex.missing.values, BigInt64Array.of(9n, 9n));
  assert.deepEqual(ex.missingList.values, Float32Array.of(0.5, 1.5, 2.5));
  assert.deepEqual(ex.n, { dtype: 'int64', indices: [[0], [1], [2]], values: BigInt64Array.of(5n, 6n, 7n), denseShape: [3] });
  assert.deepEqual(ex.s.denseShape, [2]);
  assert.deepEqual(ex.none.denseShape, [0]);

  assert.throws(() => parseSingleExample(rec, { v: fixedLenFeature([4], 'float32') }, 'rec.tfrecords#3'), {
    message: 'rec.tfrecords#3: feature v: 6 float32 values, expected 4 for shape [4]',
  });
  assert.throws(() => parseSingleExample(rec, { gone: fixedLenFeature([], 'int64') }), /feature gone \(data type: int64\) is required but could not be found/);
  assert.throws(() => parseSingleExample(rec, { n: fixedLenFeature([3], 'float32') }), /data types don't match \(stored int64, expected float32\)/);
  assert.throws(() => decodeExample(bytes('0aff'), 'bad.rec'), (e: Error) => e instanceof UserError && e.message.startsWith('bad.rec: not a tf.train.Example'));
});
