import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { poolKernels, POOL_RELU_BIAS_GRAD } from '../../src/backend/kernels/pool.js';
import { usableKernels } from '../../src/backend/native.js';
import { convLayer, poolFusionAvailable } from '../../src/models/fused-layers.js';
import { assertParity, maxRelError, nativeOrSkip, randomValues, TOLERANCE } from './parity-helpers.js';

const skip = nativeOrSkip();

/** Values on a 0.25 grid: many exact ties inside pooling windows, and many zeros after the ReLU. */
function coarse(n: number, seed: number): Float32Array {
  return randomValues(n, seed).map((v) => Math.round(v * 4) / 4);
}

describe('the fused max-pool + ReLU + bias gradient matches MaxPoolGrad → ReluGrad → sum on cpu', { skip }, () => {
  const shapes: Array<[number, number, number, number]> = [[3, 24, 24, 24], [2, 10, 10, 32], [2, 7, 5, 3], [1, 6, 9, 17]];
  for (const shape of shapes) {
    it(`y ${shape.join('×')}`, async () => {
      const [n, h, w, c] = shape;
      const pre = coarse(n * h * w * c, h * 7 + c);
      const dy = randomValues(n * Math.floor(h / 2) * Math.floor(w / 2) * c, c);
      const pooledShape = [n, Math.floor(h / 2), Math.floor(w / 2), c];
      await tf.setBackend('cpu');
      const expected = tf.tidy(() => {
        const x = tf.tensor4d(pre, shape);
        const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(tf.relu(p) as tf.Tensor4D, 2, 2, 'valid'), tf.tensor(dy, pooledShape))))(x);
        return [g.dataSync().slice(), tf.sum(g, [0, 1, 2]).dataSync().slice()];
      });
      await tf.setBackend('native');
      const actual = tf.tidy(() => {
        const y = tf.relu(tf.tensor4d(pre, shape));
        const [dx, db] = tf.engine().runKernel(POOL_RELU_BIAS_GRAD, { dy: tf.tensor(dy, pooledShape), y }) as unknown as tf.Tensor[];
        assert.deepEqual(dx.shape, shape);
        assert.deepEqual(db.shape, [c]);
        return [dx.dataSync().slice(), db.dataSync().slice()];
      });
      // The same values exactly (a zero may differ in sign: cpu's ReluGrad multiplies by 0).
      assert.equal(maxRelError(actual[0], expected[0]), 0, 'pre-activation gradient');
      const err = maxRelError(actual[1], expected[1]);
      assert.ok(err <= TOLERANCE, `bias gradient: max relative error ${err.toExponential(2)}`);
    });
  }

  it('a convolution layer that takes its 2×2 max-pool in (native) matches conv → bias → ReLU → max-pool on cpu, forward and gradients', async () => {
    await tf.setBackend('native');
    assert.ok(poolFusionAvailable(), 'native has the fused pool gradient');
    for (const [x, f] of [[[4, 12, 12, 24], [3, 3, 24, 32]], [[3, 28, 28, 1], [5, 5, 1, 24]], [[2, 11, 9, 3], [2, 2, 3, 5]]] as const) {
      await assertParity(`conv ${x} filter ${f}`, [{ shape: [...x] }, { shape: [...f] }, { shape: [f[3]], lo: -0.2, hi: 0.3 }],
        (xs, filter, bias) => poolFusionAvailable()
          ? convLayer(xs, filter, bias, { strides: [1, 1], pad: 'valid' }, true, true, true)
          : tf.maxPool(tf.relu(tf.add(tf.conv2d(xs as tf.Tensor4D, filter as tf.Tensor4D, 1, 'valid'), bias)) as tf.Tensor4D, 2, 2, 'valid'),
        { grad: true });
    }
  });
});

describe('an addon built before the fused pool gradient', () => {
  it('leaves the kernel out (the older path runs) instead of registering one that would crash', () => {
    const names = (addon: object) => usableKernels(poolKernels, addon).map((k) => k.kernelName);
    assert.deepEqual(names({ maxPool: () => {}, maxPoolGrad: () => {} }), ['MaxPool', 'MaxPoolGrad']);
    assert.deepEqual(names({ maxPool: () => {}, maxPoolGrad: () => {}, maxPool2x2ReluBiasGrad: () => {} }), [POOL_RELU_BIAS_GRAD, 'MaxPool', 'MaxPoolGrad']);
  });
});
