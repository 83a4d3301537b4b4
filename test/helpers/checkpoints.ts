import assert from 'node:assert/strict';
import { CheckpointReader } from '../../src/checkpoint/reader.js';

/** The bytes of a checkpoint tensor's data (strings joined), for byte-for-byte comparison. */
function bytesOf(reader: CheckpointReader, name: string): Buffer {
  const { data } = reader.tensor(name);
  if (Array.isArray(data)) return Buffer.concat(data.map((b) => Buffer.from(b)));
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Asserts that two checkpoints hold the same tensor names, dtypes, shapes and data bytes;
 * the message names the first tensor that differs.
 */
export function assertSameCheckpoint(actualPrefix: string, expectedPrefix: string): void {
  const actual = CheckpointReader.open(actualPrefix);
  const expected = CheckpointReader.open(expectedPrefix);
  assert.deepEqual(actual.names(), expected.names(), 'the same tensors');
  const differing: string[] = [];
  for (const name of expected.names()) {
    const [a, e] = [actual.info(name), expected.info(name)];
    assert.deepEqual({ dtype: a.dtype, shape: a.shape }, { dtype: e.dtype, shape: e.shape }, name);
    if (!bytesOf(actual, name).equals(bytesOf(expected, name))) differing.push(name);
  }
  assert.deepEqual(differing, [], `tensors that differ: ${differing.join(', ')}`);
}
