import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { convLayer, denseLayer, fusedLayersAvailable } from '../../src/models/fused-layers.js';
import { nativeSkip } from '../helpers/backends.js';

const skip = await nativeSkip();

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.deepEqual(a.shape, b.shape);
  let scale = 1e-3;
  for (const v of y) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / scale);
  return worst;
}

/** Value and gradients of sum(layer · r) for a fixed random r, with respect to x, w and b. */
function gradients(f: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor, x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) {
  const r = tf.randomNormal(f(x, w, b).shape, 0, 1, 'float32', 11);
  const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi, wi, bi), r)))([x, w, b]);
  return { y: f(x, w, b), value, grads };
}

test('the one-tape-node layers exist on the native backend only', { skip }, async () => {
  await tf.setBackend('cpu');
  assert.equal(fusedLayersAvailable(), false);
  await tf.setBackend('native');
  assert.equal(fusedLayersAvailable(), true);
});

test('denseLayer: output and the gradients of x, w and b equal relu?(x·w + b) differentiated op by op', { skip }, async () => {
  await tf.setBackend('native');
  for (const [n, k, m] of [[1, 3, 2], [100, 784, 500], [7, 13, 10]]) {
    for (const relu of [true, false]) {
      tf.tidy(() => {
        const x = tf.randomNormal([n, k], 0, 1, 'float32', n);
        const w = tf.randomNormal([k, m], 0, 0.1, 'float32', k);
        const b = tf.randomNormal([m], 0, 0.1, 'float32', m);
        const ours = gradients((xi, wi, bi) => denseLayer(xi, wi, bi, relu, true), x, w, b);
        const reference = gradients((xi, wi, bi) => {
          const z = tf.add(tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D), bi);
          return relu ? tf.relu(z) : z;
        }, x, w, b);
        const label = `${n}×${k}×${m}, relu ${relu}`;
        assert.ok(maxRelDiff(ours.y, reference.y) < 1e-5, `output ${label}`);
        ours.grads.forEach((g, i) => assert.ok(maxRelDiff(g, reference.grads[i]) < 1e-5, `gradient ${'xwb'[i]} ${label}`));
        // Without the input's gradient: the same weight and bias gradients, x treated as a constant.
        const wb = tf.grads((wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(denseLayer(x, wi, bi, relu, false), tf.randomNormal([n, m], 0, 1, 'float32', 11))))([w, b]);
        assert.ok(maxRelDiff(wb[0], reference.grads[1]) < 1e-5 && maxRelDiff(wb[1], reference.grads[2]) < 1e-5, `w, b without x ${label}`);
      });
    }
  }
});

test('convLayer: output and gradients equal relu?(conv2d + b) op by op (SAME/VALID, strides 1 and 2, odd sizes)', { skip }, async () => {
  await tf.setBackend('native');
  const cases: Array<{ x: number[]; f: number[]; strides: [number, number]; pad: 'same' | 'valid' }> = [
    { x: [2, 28, 28, 1], f: [5, 5, 1, 8], strides: [1, 1], pad: 'same' },
    { x: [3, 9, 7, 4], f: [3, 2, 4, 5], strides: [2, 1], pad: 'valid' },
    { x: [1, 6, 6, 3], f: [3, 3, 3, 2], strides: [2, 2], pad: 'same' },
  ];
  for (const c of cases) {
    for (const relu of [true, false]) {
      tf.tidy(() => {
        const x = tf.randomNormal(c.x, 0, 1, 'float32', 3);
        const w = tf.randomNormal(c.f, 0, 0.2, 'float32', 4);
        const b = tf.randomNormal([c.f[3]], 0, 0.1, 'float32', 5);
        const ours = gradients((xi, wi, bi) => convLayer(xi, wi, bi, c, relu, true), x, w, b);
        const reference = gradients((xi, wi, bi) => {
          const z = tf.add(tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, c.strides, c.pad), bi);
          return relu ? tf.relu(z) : z;
        }, x, w, b);
        const label = `${JSON.stringify(c)}, relu ${relu}`;
        assert.ok(maxRelDiff(ours.y, reference.y) < 1e-5, `output ${label}`);
        ours.grads.forEach((g, i) => assert.ok(maxRelDiff(g, reference.grads[i]) < 1e-4, `gradient ${'xwb'[i]} ${label}`));
      });
    }
  }
});

test('the layers leak no tensors through a gradient computation', { skip }, async () => {
  await tf.setBackend('native');
  const x = tf.randomNormal([4, 6]);
  const w = tf.variable(tf.randomNormal([6, 3]));
  const b = tf.variable(tf.zeros([3]));
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => tf.sum(denseLayer(x, w, b, true, false)) as tf.Scalar, [w, b]);
  tf.dispose([value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w, b]);
});

test('an input computed inside the differentiated function survives to the backward pass (no input gradient)', { skip }, async () => {
  await tf.setBackend('native');
  tf.tidy(() => {
    const image = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 1);
    const w = tf.variable(tf.randomNormal([3, 3, 1, 4], 0, 0.3, 'float32', 2));
    const b = tf.variable(tf.zeros([4]));
    // tf.pad makes a new tensor inside the forward pass, which variableGrads disposes after it.
    const loss = (own: boolean) => () => {
      const x = tf.pad(image, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      const y = own ? convLayer(x, w, b, { strides: [1, 1], pad: 'valid' }, true, false) : tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'), b));
      return tf.sum(tf.square(y)) as tf.Scalar;
    };
    const ours = tf.variableGrads(loss(true), [w, b]).grads;
    const reference = tf.variableGrads(loss(false), [w, b]).grads;
    assert.ok(maxRelDiff(ours[w.name], reference[w.name]) < 1e-5);
    assert.ok(maxRelDiff(ours[b.name], reference[b.name]) < 1e-5);
  });
});
