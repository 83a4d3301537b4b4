import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { sparseSoftmaxCrossEntropy, sparseSoftmaxCrossEntropyReference } from '../../src/train/loss.js';
import { backendsUnderTest } from '../helpers/backends.js';

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
