import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../src/errors.js';
import {
  dataFileName,
  decodeTensor,
  readBundleIndex,
  writeBundle,
} from '../../src/formats/bundle.js';
import type { TensorValue } from '../../src/formats/tensor-value.js';
import { crc32c, maskCrc } from '../../src/formats/crc32c.js';
import { protoType } from '../../src/formats/protos.js';
import { TableBuilder } from '../../src/formats/sstable.js';

const fixture = (p: string): Uint8Array => readFileSync(fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function roundTrip(tensors: Array<[string, TensorValue]>, options = {}): Map<string, TensorValue> {
  const files = writeBundle(tensors, options);
  const index = readBundleIndex(files.index, 'rt.index');
  return new Map(index.entries.map((e) => [e.name, decodeTensor(e, files.data, 'rt.data-00000-of-00001')]));
}

test('every dtype and edge case round-trips', () => {
  const tensors: Array<[string, TensorValue]> = [
    ['f32', { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1.5, -2, 3, NaN, Infinity, -0]) }],
    ['f64', { dtype: 'float64', shape: [2], data: Float64Array.from([Math.PI, -1e300]) }],
    ['i32', { dtype: 'int32', shape: [3], data: Int32Array.from([-2147483648, 0, 2147483647]) }],
    ['i64', { dtype: 'int64', shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 62n + 12345n]) }],
    ['global_step', { dtype: 'int64', shape: [], data: BigInt64Array.from([1000n]) }],
    ['b', { dtype: 'bool', shape: [4], data: Uint8Array.from([1, 0, 0, 1]) }],
    ['u8', { dtype: 'uint8', shape: [2, 2], data: Uint8Array.from([0, 255, 7, 128]) }],
    ['i16', { dtype: 'int16', shape: [3], data: Int16Array.from([-32768, 1, 32767]) }],
    ['i8', { dtype: 'int8', shape: [3], data: Int8Array.from([-128, 0, 127]) }],
    ['empty', { dtype: 'float32', shape: [0, 5], data: new Float32Array(0) }],
    ['empty_str', { dtype: 'string', shape: [0], data: [] }],
    ['scalar', { dtype: 'float32', shape: [], data: Float32Array.from([42]) }],
    ['str0d', { dtype: 'string', shape: [], data: [enc('hello')] }],
    ['strs', { dtype: 'string', shape: [2, 2], data: [enc(''), enc('ünïcødé'), new Uint8Array(300).fill(9), enc('x')] }],
  ];
  const back = roundTrip(tensors);
  assert.deepEqual([...back.keys()], tensors.map(([n]) => n).sort());
  for (const [name, t] of tensors) {
    const got = back.get(name)!;
    assert.equal(got.dtype, t.dtype, name);
    assert.deepEqual(got.shape, t.shape, name);
    if (t.dtype === 'string') {
      assert.deepEqual(
        (got.data as Uint8Array[]).map((s) => Buffer.from(s).toString('hex')),
        (t.data as Uint8Array[]).map((s) => Buffer.from(s).toString('hex')),
        name,
      );
    } else {
      assert.deepEqual(got.data, t.data, name);
      assert.equal(got.data.constructor, t.data.constructor, name);
    }
  }
});

test('writing v1=[1], v2=[2] reproduces the TensorFlow 1.0 checkpoint byte for byte', () => {
  const files = writeBundle([
    ['v2', { dtype: 'float32', shape: [1], data: Float32Array.from([2]) }],
    ['v1', { dtype: 'float32', shape: [1], data: Float32Array.from([1]) }],
  ]);
  assert.deepEqual(Buffer.from(files.index), Buffer.from(fixture('ckpt_v1_v2/model.ckpt.index')));
  assert.deepEqual(Buffer.from(files.data), Buffer.from(fixture('ckpt_v1_v2/model.ckpt.data-00000-of-00001')));
});

test('reads the TensorFlow 1.0 checkpoint v1/v2', () => {
  const index = readBundleIndex(fixture('ckpt_v1_v2/model.ckpt.index'), 'model.ckpt.index');
  assert.deepEqual(index.header, { numShards: 1, producer: 1, minConsumer: 0 });
  assert.deepEqual(
    index.entries.map((e) => [e.name, e.tfDType, e.shape, e.offset, e.size, e.crc32c]),
    [
      ['v1', 'DT_FLOAT', [1], 0, 4, 0x2bdaa581],
      ['v2', 'DT_FLOAT', [1], 4, 4, 0x4f78fd10],
    ],
  );
  const data = fixture('ckpt_v1_v2/model.ckpt.data-00000-of-00001');
  assert.deepEqual(decodeTensor(index.entries[1], data, 'd').data, Float32Array.from([2]));
});

test('reads the TensorFlow 1.10 Adam checkpoint (34 tensors) and rewrites it byte for byte', () => {
  const indexBytes = fixture('ckpt_houseprices_adam/model.ckpt.index');
  const data = fixture('ckpt_houseprices_adam/model.ckpt.data-00000-of-00001');
  const index = readBundleIndex(indexBytes, 'model.ckpt.index');
  assert.equal(index.entries.length, 34);
  const byName = new Map(index.entries.map((e) => [e.name, e]));
  assert.deepEqual(byName.get('Variable')!.shape, [8, 100]);
  assert.deepEqual(byName.get('Variable_2/Adam_1')!.shape, [100, 5]);
  assert.deepEqual(byName.get('Variable_8')!.shape, [10, 1]);
  assert.deepEqual(byName.get('beta1_power')!.shape, []);
  assert.equal(byName.get('Variable')!.crc32c, 0x23c5ff3e);
  assert.equal(byName.get('beta2_power')!.crc32c, 0x32ae0741);
  assert.ok(index.entries.every((e) => e.dtype === 'float32'));
  // Data is laid out in key order, back to back, as TensorFlow's Saver writes it.
  let offset = 0;
  for (const e of index.entries) {
    assert.equal(e.offset, offset, e.name);
    offset += e.size;
  }
  assert.equal(offset, data.length);
  const tensors = index.entries.map((e): [string, TensorValue] => [e.name, decodeTensor(e, data, 'd')]);
  const value = (name: string): number => tensors.find(([n]) => n === name)![1].data[0] as number;
  // Adam's beta powers after ~39,000 steps: 0.9^t underflowed to 0, 0.999^t is tiny but not 0.
  assert.equal(value('beta1_power'), 0);
  assert.ok(Math.abs(value('beta2_power') - 4.162172e-18) < 1e-23);
  assert.equal(value('Variable_11'), 1);
  assert.ok(Math.abs(value('Variable_9') - -0.7534125) < 1e-6);
  const rewritten = writeBundle(tensors);
  assert.deepEqual(Buffer.from(rewritten.index), Buffer.from(indexBytes));
  assert.deepEqual(Buffer.from(rewritten.data), Buffer.from(data));
});

test('string tensor layout: varint lengths, masked crc of uint32 lengths, bytes', () => {
  const files = writeBundle([['s', { dtype: 'string', shape: [2], data: [enc('ab'), new Uint8Array(0)] }]]);
  const lengthsCrc = maskCrc(crc32c(Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 0])));
  const expected = Buffer.alloc(8);
  expected.set([2, 0], 0);
  expected.writeUInt32LE(lengthsCrc, 2);
  expected.set(enc('ab'), 6);
  assert.deepEqual(Buffer.from(files.data), expected);
  const entry = readBundleIndex(files.index, 'i').entries[0];
  assert.equal(entry.size, 8);
  assert.equal(entry.crc32c, maskCrc(crc32c(new Uint8Array([...Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), ...expected.subarray(2)]))));
});

test('hundreds of variables with long shared prefixes span several index data blocks', () => {
  const tensors: Array<[string, TensorValue]> = [];
  for (let i = 0; i < 300; i++) {
    tensors.push([`a/very/long/scope/name/that/repeats/layer_${i}/weights`, { dtype: 'float32', shape: [2], data: Float32Array.from([i, -i]) }]);
  }
  const files = writeBundle(tensors, { table: { blockSize: 1024 } });
  const back = roundTrip(tensors, { table: { blockSize: 1024 } });
  assert.equal(back.size, 300);
  assert.deepEqual(back.get('a/very/long/scope/name/that/repeats/layer_123/weights')!.data, Float32Array.from([123, -123]));
  assert.ok(files.index.length > 3 * 1024);
});

test('data alignment pads between tensors', () => {
  const files = writeBundle(
    [
      ['a', { dtype: 'uint8', shape: [3], data: Uint8Array.from([1, 2, 3]) }],
      ['b', { dtype: 'float64', shape: [1], data: Float64Array.from([1]) }],
    ],
    { dataAlignment: 8 },
  );
  const entries = readBundleIndex(files.index, 'i').entries;
  assert.deepEqual(
    entries.map((e) => e.offset),
    [0, 8],
  );
  assert.equal(files.data.length, 16);
  assert.deepEqual(decodeTensor(entries[1], files.data, 'd').data, Float64Array.from([1]));
});

test('bad writes are refused', () => {
  assert.throws(() => writeBundle([['x', { dtype: 'float32', shape: [3], data: new Float32Array(2) }]]), /needs 3 values/);
  assert.throws(() => writeBundle([['x', { dtype: 'float32', shape: [1], data: new Int32Array(1) }]]), /does not match dtype/);
  assert.throws(() => writeBundle([['', { dtype: 'float32', shape: [], data: new Float32Array(1) }]]), /empty/);
});

test('corrupt tensor bytes, sizes and strings are rejected naming the data file', () => {
  const files = writeBundle([
    ['f', { dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) }],
    ['s', { dtype: 'string', shape: [2], data: [enc('hello'), enc('world')] }],
  ]);
  const [f, s] = readBundleIndex(files.index, 'i').entries;
  const fails = (fn: () => unknown, pattern: RegExp): void => {
    assert.throws(fn, (err: unknown) => err instanceof UserError && /^m\.data-00000-of-00001: tensor "/.test(err.message) && pattern.test(err.message));
  };
  for (let i = 0; i < files.data.length; i++) {
    const bad = files.data.slice();
    bad[i] ^= 0x20;
    fails(() => (i < 8 ? decodeTensor(f, bad, 'm.data-00000-of-00001') : decodeTensor(s, bad, 'm.data-00000-of-00001')), /checksum|string|bytes/);
  }
  fails(() => decodeTensor(s, files.data.subarray(0, files.data.length - 1), 'm.data-00000-of-00001'), /past the end/);
  fails(() => decodeTensor({ ...f, size: 12 }, files.data, 'm.data-00000-of-00001'), /stored size 12/);
  fails(() => decodeTensor({ ...f, sliced: true }, files.data, 'm.data-00000-of-00001'), /sliced/);
});

test('unsupported dtypes are listed but not decoded; bad headers are rejected', () => {
  const Header = protoType('tensorflow.BundleHeaderProto');
  const Entry = protoType('tensorflow.BundleEntryProto');
  const table = (header: object, entries: Array<[string, object]>): Uint8Array => {
    const b = new TableBuilder();
    b.add(new Uint8Array(0), Header.encode(Header.fromObject(header)).finish());
    for (const [k, v] of entries) b.add(enc(k), Entry.encode(Entry.fromObject(v)).finish());
    return b.finish();
  };
  const half = table({ num_shards: 1, version: { producer: 1 } }, [['h', { dtype: 19, shape: { dim: [{ size: 2 }] }, size: 4 }]]);
  const [e] = readBundleIndex(half, 'h.index').entries;
  assert.equal(e.dtype, null);
  assert.equal(e.tfDType, 'DT_HALF');
  assert.throws(() => decodeTensor(e, new Uint8Array(4), 'h.data'), /DT_HALF is not supported/);

  assert.throws(() => readBundleIndex(table({ num_shards: 1, endianness: 1 }, []), 'big.index'), /^UserError: big\.index: big-endian/);
  assert.throws(() => readBundleIndex(table({ num_shards: 1, version: { producer: 2, min_consumer: 2 } }, []), 'new.index'), /too new/);
  const noHeader = new TableBuilder();
  noHeader.add(enc('a'), new Uint8Array(0));
  assert.throws(() => readBundleIndex(noHeader.finish(), 'nh.index'), /missing bundle header/);
  assert.equal(dataFileName('dir/model.ckpt-5', 0, 1), 'dir/model.ckpt-5.data-00000-of-00001');
});
