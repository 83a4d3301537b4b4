import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { batchNormTraining } from '../../src/models/batch-norm.js';
import { assertParity, nativeOrSkip } from '../backend/parity-helpers.js';

const skip = nativeOrSkip();

describe('batch normalisation with the batch statistics (native kernels against TensorFlow.js moments + batchNorm)', { skip }, () => {
  // Maps far from zero check the variance does not cancel; the mixed row counts the threads' split.
  const CASES: Array<[string, number[], number, number]> = [
    ['a small NHWC map', [6, 5, 5, 8], -1, 1],
    ['a map far from zero', [4, 7, 7, 16], 99, 101],
    ['a 2-D batch', [300, 33], -3, 3],
    ['a vgg-sized map', [20, 28, 28, 32], -2, 2],
  ];
  for (const [label, shape, lo, hi] of CASES) {
    const channels = shape[shape.length - 1];
    const specs = [{ shape, lo, hi }, { shape: [channels], lo: 0.5, hi: 1.5 }, { shape: [channels] }];
    it(`${label}: output and gradients of x, scale and offset`, async () => {
      await assertParity(label, specs, (x, s, o) => batchNormTraining(x, s, o, 1e-3), { grad: true });
    });
    it(`${label}: the batch mean and biased variance`, async () => {
      await assertParity(label, specs, (x, s, o) => {
        let stacked: tf.Tensor | undefined;
        batchNormTraining(x, s, o, 1e-3, (mean, variance) => (stacked = tf.keep(tf.stack([mean, variance]))));
        return stacked!;
      });
    });
  }

  it('normalises each channel to mean offset and standard deviation scale', async () => {
    await tf.setBackend('native');
    const x = tf.randomNormal([10, 4, 4, 3], 5, 2, 'float32', 3);
    const y = batchNormTraining(x, tf.tensor1d([1, 2, 3]), tf.tensor1d([0, -1, 4]), 0);
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    assert.deepEqual(Array.from(mean.dataSync(), (v) => Math.round(v * 1e4) / 1e4), [0, -1, 4]);
    assert.deepEqual(Array.from(variance.dataSync(), (v) => Math.round(v * 1e3) / 1e3), [1, 4, 9]);
  });
});
