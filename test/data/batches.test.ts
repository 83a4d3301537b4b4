import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist, sliceSplit } from '../../src/data/mnist.js';
import { BatchIterator } from '../../src/data/batches.js';
import { batchChecksum } from '../helpers/batch-checksum.js';

const { train } = loadMnist();

test("BatchIterator serves the batch order the book's seeded results were published with", () => {
  // Checksums of the batches (pixels and labels) recorded from the BatchIterator of before the
  // shared pipeline: 600 batches of 100 cross the first epoch boundary of the 55,000 images.
  const checksum = (split: typeof train, batchSize: number, seed: number, batches: number) => {
    const it = new BatchIterator(split, batchSize, seed);
    return batchChecksum(batches, () => it.next());
  };
  assert.equal(checksum(train, 100, 1, 600), '2bb98ead');
  assert.equal(checksum(train, 50, 7, 30), 'b1ddd81d');
  assert.equal(checksum(sliceSplit(train, 0, 1000), 100, 3, 35), 'f97fa934');
});

test('BatchIterator.skip(k) leaves it where k batches would, across epochs', () => {
  const split = sliceSplit(train, 0, 250);
  for (const k of [0, 1, 3, 7]) {
    const drawn = new BatchIterator(split, 60, 5);
    for (let i = 0; i < k; i++) drawn.next();
    const skipped = new BatchIterator(split, 60, 5);
    skipped.skip(k);
    for (let i = 0; i < 3; i++) assert.deepEqual(skipped.next(), drawn.next(), `skip ${k}, batch ${i}`);
  }
});
