import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { run } from '../../examples/persistence.js';

before(async () => {
  await tf.setBackend('cpu');
});

describe("the book's persistence example (§5.4) on graphs", () => {
  it('saves a .meta, imports + restores it, freezes, renames and restores moving averages', async () => {
    const lines: string[] = [];
    await run((line) => lines.push(line));
    assert.deepEqual(lines, [
      'checkpoint model.ckpt.data-00000-of-00001 model.ckpt.index model.ckpt.meta',
      '[3.]',
      'Converted 2 variables to const ops.',
      '[array([3.], dtype=float32)]',
      '[3.]',
      '0.099999905',
    ]);
  });
});
