import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { sparseSoftmaxCrossEntropy, sparseSoftmaxCrossEntropyReference } from '../../src/train/loss.js';
import { activeBackendHas } from '../../src/backend/has-kernel.js';
import { L2_LOSS, MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY } from '../../src/backend/kernels/loss.js';
import { l2Regularizer, regularizationLoss } from '../../src/variables/regularizers.js';
import { backendsUnderTest, nativeSkip } from '../helpers/backends.js';

function maxAbsDiff(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

for (const backend of await backendsUnderTest()) {
  test(`sparse softmax cross-entropy: value and gradient equal the op-by-op loss (${backend})`, async () => {
    await tf.setBackend(backend);
    for (const [rows, classes] of [[1, 10], [100, 10], [7, 3]]) {
      const logits = tf.randomNormal([rows, classes], 0, 3, 'float32', rows * classes) as tf.Tensor2D;
      const labels = tf.tensor1d(Array.from({ length: rows }, (_, i) => (i * 7) % classes), 'int32');
      const fused = tf.valueAndGrad((x: tf.Tensor) => sparseSoftmaxCrossEntropy(x as tf.Tensor2D, labels))(logits);
      const reference = tf.valueAndGrad((x: tf.Tensor) => sparseSoftmaxCrossEntropyReference(x as tf.Tensor2D, labels))(logits);
      assert.ok(Math.abs(fused.value.dataSync()[0] - reference.value.dataSync()[0]) < 1e-5, `loss ${rows}×${classes}`);
      assert.ok(maxAbsDiff(fused.grad.dataSync(), reference.grad.dataSync()) < 1e-6, `gradient ${rows}×${classes}`);
      // TensorFlow's gradient: (softmax − one-hot) / N.
      const expected = tf.div(tf.sub(tf.softmax(logits), tf.oneHot(labels, classes)), rows);
      assert.ok(maxAbsDiff(fused.grad.dataSync(), expected.dataSync()) < 1e-6);
      tf.dispose([logits, labels, fused.value, fused.grad, reference.value, reference.grad, expected]);
    }
  });

  test(`sparse softmax cross-entropy with label smoothing: TensorFlow.js's softmaxCrossEntropy(labelSmoothing) and (softmax − q)/N (${backend})`, async () => {
    await tf.setBackend(backend);
    for (const smoothing of [0.1, 0.3]) {
      const [rows, classes] = [50, 10];
      const logits = tf.randomNormal([rows, classes], 0, 3, 'float32', 11) as tf.Tensor2D;
      const labels = tf.tensor1d(Array.from({ length: rows }, (_, i) => (i * 3) % classes), 'int32');
      const oneHot = tf.oneHot(labels, classes);
      const ours = tf.valueAndGrad((x: tf.Tensor) => sparseSoftmaxCrossEntropy(x as tf.Tensor2D, labels, smoothing))(logits);
      const theirs = tf.valueAndGrad((x: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, x, undefined, smoothing) as tf.Scalar)(logits);
      const reference = sparseSoftmaxCrossEntropyReference(logits, labels, smoothing);
      assert.ok(Math.abs(ours.value.dataSync()[0] - theirs.value.dataSync()[0]) < 1e-5, `loss, ε = ${smoothing}`);
      assert.ok(Math.abs(reference.dataSync()[0] - theirs.value.dataSync()[0]) < 1e-5, `reference loss, ε = ${smoothing}`);
      assert.ok(maxAbsDiff(ours.grad.dataSync(), theirs.grad.dataSync()) < 1e-6, `gradient, ε = ${smoothing}`);
      const q = tf.add(tf.mul(oneHot, 1 - smoothing), smoothing / classes);
      const expected = tf.div(tf.sub(tf.softmax(logits), q), rows);
      assert.ok(maxAbsDiff(ours.grad.dataSync(), expected.dataSync()) < 1e-6);
      const unsmoothed = sparseSoftmaxCrossEntropy(logits, labels);
      assert.ok(ours.value.dataSync()[0] - unsmoothed.dataSync()[0] > 0.01, 'smoothing changes the loss');
      tf.dispose([logits, labels, oneHot, ours.value, ours.grad, theirs.value, theirs.grad, reference, q, expected, unsmoothed]);
    }
  });

  test(`sparse softmax cross-entropy: the chain rule goes through it, and no tensor is leaked (${backend})`, async () => {
    await tf.setBackend(backend);
    const w = tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 5));
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 6) as tf.Tensor2D;
    const labels = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const before = tf.memory().numTensors;
    const fused = tf.variableGrads(() => tf.mul(sparseSoftmaxCrossEntropy(tf.matMul(x, w), labels), 2) as tf.Scalar, [w]);
    const reference = tf.variableGrads(() => tf.mul(sparseSoftmaxCrossEntropyReference(tf.matMul(x, w), labels), 2) as tf.Scalar, [w]);
    assert.ok(maxAbsDiff(fused.grads[w.name].dataSync(), reference.grads[w.name].dataSync()) < 1e-6);
    tf.dispose([fused.value, fused.grads[w.name], reference.value, reference.grads[w.name]]);
    assert.equal(tf.memory().numTensors, before);
    // Outside a gradient computation it is a plain forward pass.
    const plain = sparseSoftmaxCrossEntropy(tf.matMul(x, w), labels);
    assert.ok(Number.isFinite(plain.dataSync()[0]));
    tf.dispose([w, x, labels, plain]);
  });
}

for (const backend of await backendsUnderTest()) {
  test(`the native backend computes the loss and L2 as single kernels; others compose them (${backend})`, async () => {
    await tf.setBackend(backend);
    assert.equal(activeBackendHas(MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY), backend === 'native');
    assert.equal(activeBackendHas(L2_LOSS), backend === 'native');
  });

  test(`L2 regularisation λ·Σw²/2 and its gradient λ·w, small to MLP-sized weights (${backend})`, async () => {
    await tf.setBackend(backend);
    for (const size of [1, 7, 4097, 392000]) {
      const w = tf.randomNormal([size], 0, 0.1, 'float32', size);
      const values = w.dataSync();
      let expected = 0;
      for (const v of values) expected += v * v;
      expected *= 1e-4 / 2;
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => regularizationLoss(l2Regularizer(1e-4), x))(w);
      assert.ok(Math.abs(value.dataSync()[0] - expected) <= 1e-6 * expected, `size ${size}: ${value.dataSync()[0]} vs ${expected}`);
      const g = grad.dataSync();
      assert.ok(values.every((v, i) => Math.abs(g[i] - 1e-4 * v) <= 1e-9), `gradient, size ${size}`);
      tf.dispose([w, value, grad]);
    }
  });
}

test('native cross-entropy kernel: a label outside [0, classes) gives NaN, as TensorFlow does', { skip: await nativeSkip() }, async () => {
  await tf.setBackend('native');
  const logits = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
  const [value, gradient] = tf.engine().runKernel(MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY, { logits, labels: tf.tensor1d([0, 3], 'int32') }) as tf.Tensor[];
  assert.ok(Number.isNaN(value.dataSync()[0]));
  const g = gradient.dataSync();
  assert.ok(g.slice(0, 3).every(Number.isFinite) && g.slice(3).every(Number.isNaN));
  const [good] = tf.engine().runKernel(MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY, { logits, labels: tf.tensor1d([2, 1], 'int32') }) as tf.Tensor[];
  // (−log softmax([1,2,3])[2] − log(1/3)) / 2
  const expected = (Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3 + Math.log(3)) / 2;
  assert.ok(Math.abs(good.dataSync()[0] - expected) < 1e-6);
});
