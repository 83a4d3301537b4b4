import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { nativeOrSkip } from './parity-helpers.js';

const skip = nativeOrSkip();

describe('native backend memory', { skip }, () => {
  it('a dataSync() result survives disposal of its tensor (pooled arrays are copied out)', async () => {
    await tf.setBackend('native');
    const a = tf.relu(tf.tensor([1, -2, 3, -4]));
    const values = a.dataSync();
    a.dispose();
    const b = tf.relu(tf.tensor([-9, 9, -9, 9])); // same length: would reuse a's pooled array
    assert.deepEqual([...values], [1, 0, 3, 0]);
    assert.deepEqual([...b.dataSync()], [0, 9, 0, 9]);
    b.dispose();
  });

  it('a view made by a stock cpu kernel survives disposal of its pooled source', async () => {
    await tf.setBackend('native');
    const src = tf.relu(tf.tensor2d([[1, 2], [3, 4], [5, 6]]));
    const row = tf.slice(src, [1, 0], [1, 2]); // the cpu Slice returns a subarray view
    src.dispose();
    const other = tf.relu(tf.tensor2d([[7, 7], [7, 7], [7, 7]]));
    assert.deepEqual([...row.dataSync()], [3, 4]);
    tf.dispose([row, other]);
  });

  it('tensor count and RSS stay flat over 300 MLP training steps', async () => {
    await tf.setBackend('native');
    const w1 = tf.variable(tf.randomNormal([784, 500], 0, 0.1)), b1 = tf.variable(tf.zeros([500]));
    const w2 = tf.variable(tf.randomNormal([500, 10], 0, 0.1)), b2 = tf.variable(tf.zeros([10]));
    const x = tf.randomUniform([100, 784]), y = tf.oneHot(tf.randomUniform([100], 0, 10, 'int32'), 10).toFloat();
    const optimizer: tf.Optimizer = tf.train.adam(1e-3);
    const step = () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y,
        tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2)) as tf.Scalar);
      optimizer.applyGradients(grads);
      return value;
    });
    let loss = 0;
    for (let i = 0; i < 50; ++i) step().dispose();
    const tensorsAfterWarmup = tf.memory().numTensors;
    const rssAfterWarmup = process.memoryUsage().rss;
    for (let i = 0; i < 300; ++i) {
      const l = step();
      loss = l.dataSync()[0];
      l.dispose();
    }
    assert.equal(tf.memory().numTensors, tensorsAfterWarmup, 'tensor count grew');
    const growthMiB = (process.memoryUsage().rss - rssAfterWarmup) / 2 ** 20;
    assert.ok(growthMiB < 40, `RSS grew by ${growthMiB.toFixed(1)} MiB over 300 steps`);
    assert.ok(Number.isFinite(loss) && loss < 0.5, `training did not converge on a fixed batch (loss ${loss})`);
    optimizer.dispose();
    tf.dispose([w1, b1, w2, b2, x, y]);
  });
});
