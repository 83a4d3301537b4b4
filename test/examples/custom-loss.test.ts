import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { bookDataset, run } from '../../examples/custom-loss.js';

before(async () => {
  await tf.setBackend('cpu');
});

describe('custom asymmetric loss (§4.2)', () => {
  it("builds the book's data with numpy's RandomState(1)", () => {
    const { X, Y } = bookDataset();
    assert.equal(X.length, 128);
    assert.deepEqual(X[0], [0.417022004702574, 0.7203244934421581]); // np.random.RandomState(1).rand(2)
    const noise = Y.map((y, i) => y[0] - X[i][0] - X[i][1]);
    assert.ok(noise.every((n) => n >= -0.05 && n < 0.05));
  });

  it('learns weights slightly above [1, 1] (the book: [[1.0193471] [1.0428091]])', async () => {
    const lines: string[] = [];
    await run((l) => lines.push(...l.split('\n')));
    const w = lines.map((l) => Number(l.replace(/[[\] ]/g, '')));
    assert.equal(w.length, 2);
    assert.ok(w[0] > 1 && w[1] > 1, `${w}`);
    assert.ok(Math.abs(w[0] - 1.0193471) < 1e-3 && Math.abs(w[1] - 1.0428091) < 1e-3, `${w}`);
  });
});
