/**
 * The book §4.2: a loss that is not symmetric. Predicting sales, over-predicting costs 1 per unit
 * (the cost of the product), under-predicting costs 10 (the lost profit):
 *   loss = Σ where(y > y_, (y − y_)·1, (y_ − y)·10)
 * A one-layer linear model y = x·w trained on y_ = x1 + x2 + noise (noise in ±0.05) then learns
 * weights slightly ABOVE [1, 1]: erring high is cheaper. The book prints [[1.0193471] [1.0428091]].
 *
 * Same data as the book (numpy RandomState(1), reproduced exactly), same start (TensorFlow's
 * random_normal(seed=1) values), same Adam(0.001) with TensorFlow's update, 5000 steps of 8.
 *
 *   node --import tsx examples/custom-loss.ts
 */
import * as tf from '@tensorflow/tfjs';
import { createOptimizer } from '../src/train/optimizers.js';
import { VariableStore } from '../src/variables/store.js';
import { runIfMain, type Print } from './lib/main.js';
import { NumpyRandomState } from './lib/numpy-random.js';
import { numpyArray } from './lib/numpy-print.js';

export const BATCH_SIZE = 8;
export const DATASET_SIZE = 128;
export const STEPS = 5000;

/** X = rdm.rand(128, 2); Y = [[x1 + x2 + rdm.rand()/10.0 - 0.05] for (x1, x2) in X]. */
export function bookDataset(): { X: number[][]; Y: number[][] } {
  const rdm = new NumpyRandomState(1);
  const X = rdm.randMatrix(DATASET_SIZE, 2);
  const Y = X.map(([x1, x2]) => [x1 + x2 + rdm.rand() / 10.0 - 0.05]);
  return { X, Y };
}

/**
 * loss = reduce_sum(where(greater(y, y_), (y − y_)·1, (y_ − y)·10)). `overPredicted` is
 * greater(y, y_), passed in because tfjs has no gradient for Greater (TensorFlow's is zero anyway).
 */
export function asymmetricLoss(y: tf.Tensor, yReal: tf.Tensor, overPredicted: tf.Tensor, over = 1, under = 10): tf.Scalar {
  return tf.sum(tf.where(overPredicted, tf.mul(tf.sub(y, yReal), over), tf.mul(tf.sub(yReal, y), under)));
}

export function train(steps = STEPS): Float32Array {
  const { X, Y } = bookDataset();
  const store = new VariableStore();
  const w1 = store.create('Variable', [2, 1]);
  w1.variable.assign(tf.tensor2d([[-0.8113182], [1.4845988]])); // random_normal([2, 1], stddev=1, seed=1)
  const adam = createOptimizer('adam', { momentum: 0 });
  const xs = tf.tensor2d(X);
  const ys = tf.tensor2d(Y);
  for (let i = 0; i < steps; i++) {
    const start = (i * BATCH_SIZE) % DATASET_SIZE;
    const end = Math.min(start + BATCH_SIZE, DATASET_SIZE);
    tf.tidy(() => {
      const x = xs.slice([start, 0], [end - start, 2]);
      const yReal = ys.slice([start, 0], [end - start, 1]);
      const overPredicted = tf.greater(tf.matMul(x, w1.variable), yReal);
      const { grads } = tf.variableGrads(() => asymmetricLoss(tf.matMul(x, w1.variable), yReal, overPredicted), [w1.variable]);
      adam.apply([w1], [grads[w1.variable.name]], 0.001);
    });
  }
  const weights = w1.variable.dataSync() as Float32Array;
  xs.dispose();
  ys.dispose();
  adam.dispose();
  store.dispose();
  return weights;
}

export function run(print: Print): void {
  print(numpyArray(train(), [2, 1]));
}

await runIfMain(import.meta.url, run);
