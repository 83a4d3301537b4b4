import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { inPlaceUpdates } from '../../src/backend/in-place-updates.js';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import type { OptimizerName } from '../../src/train/config.js';
import { createOptimizer } from '../../src/train/optimizers.js';
import { zeros } from '../../src/variables/initializers.js';
import type { VariableEntry } from '../../src/variables/store.js';
import { maxRelError, nativeOrSkip, randomValues, TOLERANCE } from './parity-helpers.js';

const skip = nativeOrSkip();

function entry(name: string, variable: tf.Variable): VariableEntry {
  return { name, shape: variable.shape, initializer: zeros(), trainable: true, variable };
}

/**
 * Five steps of a small softmax regression with the training loop's optimizer (and, with
 * `decay`, L2 folded into the update; with `ema`, a moving average); returns the final weights
 * (and shadows). On cpu every update is tensor ops, on native one in-place pass per variable.
 * 400 and 10 elements: whole AVX vectors and a remainder.
 */
async function train(backend: string, name: OptimizerName, decay: number, ema = false): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const vars = [
    entry('w', tf.variable(tf.tensor(randomValues(40 * 10, 3, -0.1, 0.1), [40, 10]))),
    entry('b', tf.variable(tf.tensor(randomValues(10, 4, -0.1, 0.1), [10]))),
  ];
  const [w, b] = vars.map((v) => v.variable);
  const x = tf.tensor(randomValues(16 * 40, 5), [16, 40]);
  const y = tf.oneHot(tf.tensor1d([...randomValues(16, 6, 0, 10)].map(Math.floor), 'int32'), 10).toFloat();
  const optimizer = createOptimizer(name, { momentum: 0.9 });
  const average = new ExponentialMovingAverage(0.9);
  if (ema) average.createShadows(vars);
  for (let i = 0; i < 5; ++i) {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, w), b)) as tf.Scalar, [w, b]);
      optimizer.apply(vars, [grads[w.name], grads[b.name]], name === 'adam' ? 0.01 : 0.5, [decay, 0]);
    });
    if (ema) average.apply(vars, i);
  }
  const out = [...vars.map((v) => v.variable.dataSync() as Float32Array), ...(ema ? vars.map((v) => average.shadowOf(v).dataSync() as Float32Array) : [])];
  optimizer.dispose();
  average.dispose();
  tf.dispose([w, b, x, y]);
  return out;
}

describe("the training loop's optimizers: in-place updates on native match tensor ops on cpu", { skip }, () => {
  const cases: Array<[string, OptimizerName, number, boolean?]> = [
    ['sgd', 'sgd', 0],
    ['momentum', 'momentum', 0],
    ['adam', 'adam', 0],
    ['sgd with L2 folded in', 'sgd', 0.01],
    ['momentum with L2 folded in', 'momentum', 0.01],
    ['adam with L2 folded in', 'adam', 0.01],
    ['sgd with a moving average', 'sgd', 0, true],
  ];
  for (const [label, name, decay, ema] of cases) {
    it(label, async () => {
      const actual = await train('native', name, decay, ema);
      const expected = await train('cpu', name, decay, ema);
      actual.forEach((a, i) => {
        const err = maxRelError(a, expected[i]);
        assert.ok(err <= TOLERANCE, `${label} array ${i}: max relative error ${err.toExponential(2)}`);
      });
    });
  }

  it('the native path really updates in place (and only on native)', async () => {
    await tf.setBackend('native');
    const v = tf.variable(tf.zeros([4]));
    assert.ok(inPlaceUpdates(v, v), 'native offers in-place updates');
    await tf.setBackend('cpu');
    const c = tf.variable(tf.zeros([4]));
    assert.equal(inPlaceUpdates(c, c), null);
    tf.dispose([c]);
    await tf.setBackend('native');
    tf.dispose([v]);
  });

  it('never writes into an array another tensor still shares', async () => {
    await tf.setBackend('native');
    const initial = tf.tensor1d([1, 2, 3]);
    const v = tf.variable(initial); // shares initial's data until the first update
    const snapshot = v.clone();
    const optimizer = createOptimizer('sgd', { momentum: 0 });
    optimizer.apply([entry('v', v)], [tf.tensor1d([1, 1, 1])], 1);
    optimizer.apply([entry('v', v)], [tf.tensor1d([1, 1, 1])], 1);
    assert.deepEqual([...v.dataSync()], [-1, 0, 1]);
    assert.deepEqual([...initial.dataSync()], [1, 2, 3]);
    assert.deepEqual([...snapshot.dataSync()], [1, 2, 3]);
    optimizer.dispose();
    tf.dispose([initial, v, snapshot]);
  });
});
