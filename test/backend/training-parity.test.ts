import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { createOptimizer } from '../../src/train/optimizers.js';
import { zeros } from '../../src/variables/initializers.js';
import { nativeOrSkip, randomValues } from './parity-helpers.js';

const skip = nativeOrSkip();

/**
 * Losses of 200 SGD steps of a small ReLU MLP on fixed synthetic batches: with tfjs's stock
 * optimizer, or (`fused`) the training loop's, which updates in place on native.
 */
async function losses(backend: string, fused: boolean): Promise<number[]> {
  await tf.setBackend(backend);
  const w1 = tf.variable(tf.tensor(randomValues(64 * 32, 1, -0.2, 0.2), [64, 32]));
  const b1 = tf.variable(tf.fill([32], 0.1));
  const w2 = tf.variable(tf.tensor(randomValues(32 * 10, 2, -0.2, 0.2), [32, 10]));
  const b2 = tf.variable(tf.fill([10], 0.1));
  // Ten batches whose label is a fixed linear function of the input, so the loss really falls.
  const teacher = tf.tensor(randomValues(64 * 10, 3), [64, 10]);
  const batches = Array.from({ length: 10 }, (_, i) => tf.tidy(() => {
    const x = tf.tensor(randomValues(20 * 64, 10 + i, 0, 1), [20, 64]);
    return { x, y: tf.oneHot(tf.argMax(tf.matMul(x, teacher), 1), 10).toFloat() };
  }));
  const vars = [w1, b1, w2, b2];
  const entries = vars.map((variable, i) => ({ name: `v${i}`, shape: variable.shape, initializer: zeros(), trainable: true, variable }));
  const stock = tf.train.sgd(0.5);
  const ours = createOptimizer('sgd', { momentum: 0 });
  const out: number[] = [];
  for (let step = 0; step < 200; ++step) {
    const { x, y } = batches[step % batches.length];
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y,
        tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2)) as tf.Scalar, vars);
      if (fused) ours.apply(entries, vars.map((v) => grads[v.name]), 0.5);
      else stock.applyGradients(grads);
      return value;
    });
    out.push(loss.dataSync()[0]);
    loss.dispose();
  }
  stock.dispose();
  ours.dispose();
  tf.dispose([w1, b1, w2, b2, teacher, ...batches.flatMap((b) => [b.x, b.y])]);
  return out;
}

describe('training on native follows the cpu backend', { skip }, () => {
  it("the first 200 losses of an MLP match the cpu run within 1e-3 (stock SGD and the training loop's in-place SGD)", async () => {
    const reference = await losses('cpu', false);
    assert.ok(reference[199] < reference[0] * 0.6, `reference run did not learn: ${reference[0]} → ${reference[199]}`);
    for (const fused of [false, true]) {
      const native = await losses('native', fused);
      native.forEach((l, i) => {
        const rel = Math.abs(l - reference[i]) / Math.abs(reference[i]);
        assert.ok(rel <= 1e-3, `fused=${fused} step ${i}: loss ${l} vs cpu ${reference[i]} (relative ${rel.toExponential(2)})`);
      });
    }
  });
});
