import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { fusedAdam, fusedMomentum, fusedSgd } from '../../src/backend/optimizers.js';
import { maxRelError, nativeOrSkip, randomValues, TOLERANCE } from './parity-helpers.js';

const skip = nativeOrSkip();

/** Five steps of a small softmax regression; returns the final weights. */
async function train(backend: string, makeOptimizer: () => tf.Optimizer): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const w = tf.variable(tf.tensor(randomValues(40 * 10, 3, -0.1, 0.1), [40, 10]));
  const b = tf.variable(tf.tensor(randomValues(10, 4, -0.1, 0.1), [10]));
  const x = tf.tensor(randomValues(16 * 40, 5), [16, 40]);
  const y = tf.oneHot(tf.tensor1d([...randomValues(16, 6, 0, 10)].map(Math.floor), 'int32'), 10).toFloat();
  const optimizer = makeOptimizer();
  for (let i = 0; i < 5; ++i) {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, w), b)) as tf.Scalar);
      optimizer.applyGradients(grads);
    });
  }
  const out = [w.dataSync() as Float32Array, b.dataSync() as Float32Array];
  optimizer.dispose();
  tf.dispose([w, b, x, y]);
  return out;
}

describe('fused optimizers on native match the stock ones on cpu', { skip }, () => {
  const cases: Array<[string, () => tf.Optimizer, () => tf.Optimizer]> = [
    ['sgd', () => fusedSgd(0.5), () => tf.train.sgd(0.5)],
    ['momentum', () => fusedMomentum(0.1, 0.9), () => tf.train.momentum(0.1, 0.9)],
    ['nesterov momentum', () => fusedMomentum(0.1, 0.9, true), () => tf.train.momentum(0.1, 0.9, true)],
    ['adam', () => fusedAdam(0.01), () => tf.train.adam(0.01)],
  ];
  for (const [name, fused, stock] of cases) {
    it(name, async () => {
      const actual = await train('native', fused);
      const expected = await train('cpu', stock);
      actual.forEach((a, i) => {
        const err = maxRelError(a, expected[i]);
        assert.ok(err <= TOLERANCE, `${name} variable ${i}: max relative error ${err.toExponential(2)}`);
      });
    });
  }

  it('never writes into an array another tensor still shares', async () => {
    await tf.setBackend('native');
    const initial = tf.tensor1d([1, 2, 3]);
    const v = tf.variable(initial); // shares initial's data until the first update
    const snapshot = v.clone();
    const optimizer = fusedSgd(1);
    optimizer.applyGradients({ [v.name]: tf.tensor1d([1, 1, 1]) });
    optimizer.applyGradients({ [v.name]: tf.tensor1d([1, 1, 1]) });
    assert.deepEqual([...v.dataSync()], [-1, 0, 1]);
    assert.deepEqual([...initial.dataSync()], [1, 2, 3]);
    assert.deepEqual([...snapshot.dataSync()], [1, 2, 3]);
    optimizer.dispose();
    tf.dispose([initial, v, snapshot]);
  });
});
