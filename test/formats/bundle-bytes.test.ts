import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CheckpointBytesReader } from '../../src/formats/bundle-bytes.js';
import { UserError } from '../../src/errors.js';

const dir = new URL('../fixtures/ckpt_v1_v2/', import.meta.url);
const index = readFileSync(new URL('model.ckpt.index', dir));
const data = readFileSync(new URL('model.ckpt.data-00000-of-00001', dir));

test('a TensorFlow checkpoint read from bytes alone', () => {
  const reader = new CheckpointBytesReader({ index, shards: [data] }, 'model.ckpt');
  assert.deepEqual(reader.names(), ['v1', 'v2']);
  assert.deepEqual(Array.from(reader.tensor('v2').data as Float32Array), [2]);
  assert.equal(reader.entry('v1')?.shape.join(), '1');
});

test('missing shards, unknown tensors and damaged bytes are UserErrors naming the file', () => {
  assert.throws(() => new CheckpointBytesReader({ index, shards: [] }, 'm'), (e) => e instanceof UserError && /^m\.index: the checkpoint has 1 data shard\(s\), 0 given$/.test(e.message));
  const reader = new CheckpointBytesReader({ index, shards: [data] }, 'm');
  assert.throws(() => reader.tensor('v3'), (e) => e instanceof UserError && /^m\.index: no tensor "v3" \(has v1, v2\)$/.test(e.message));
  const broken = Uint8Array.from(data);
  broken[0] ^= 0x80;
  assert.throws(() => new CheckpointBytesReader({ index, shards: [broken] }, 'm').tensor('v1'), (e) => e instanceof UserError && /^m\.data-00000-of-00001: tensor "v1": checksum mismatch/.test(e.message));
});
