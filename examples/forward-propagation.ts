/**
 * The book §3.4: forward propagation of the 2-3-1 network as two matrix products, y = (x·W1)·W2.
 *
 * TensorFlow's seeded random_normal cannot be reproduced outside TensorFlow, so the seeded weights
 * are given as the values TensorFlow draws for random_normal(stddev=1, seed=1), which the book
 * prints (v1 = -0.81131822 … in seed 000; the book uses seed=1 for both w1 and w2, so w2 holds the
 * first three of the same draws). With x = [[0.7, 0.9]] the book prints 3.957578.
 * (Seed 002 ran the placeholder version with w2 from seed=2, whose values it does not print, so its
 * three outputs cannot be checked; we feed the same three samples through the seed=1 weights.)
 *
 *   node --import tsx examples/forward-propagation.ts
 */
import * as tf from '@tensorflow/tfjs';
import { runIfMain, type Print } from './lib/main.js';
import { numpyArray } from './lib/numpy-print.js';

/** TensorFlow 1.x random_normal([2, 3], stddev=1, seed=1). */
export const W1_SEED1 = [[-0.8113182, 1.4845988, 0.06532937], [-2.4427042, 0.0992484, 0.5912243]];
/** TensorFlow 1.x random_normal([3, 1], stddev=1, seed=1). */
export const W2_SEED1 = [[-0.8113182], [1.4845988], [0.06532937]];

export function forward(x: number[][], w1: number[][], w2: number[][]): tf.Tensor2D {
  return tf.tidy(() => {
    const a = tf.matMul(tf.tensor2d(x), tf.tensor2d(w1));
    return tf.matMul(a, tf.tensor2d(w2));
  });
}

export function run(print: Print): void {
  const show = (t: tf.Tensor2D) => {
    print(numpyArray(t.dataSync(), t.shape));
    t.dispose();
  };
  // Constant weights (the book's P52 network): [[0.11600002]].
  show(forward([[0.7, 0.9]], [[0.2, 0.1, 0.4], [0.3, -0.5, 0.2]], [[0.6], [0.1], [-0.2]]));
  // Seeded weights: [[3.957578]].
  show(forward([[0.7, 0.9]], W1_SEED1, W2_SEED1));
  // A placeholder fed with three samples at once (feed_dict): one output row per sample.
  show(forward([[0.7, 0.9], [0.1, 0.4], [0.5, 0.8]], W1_SEED1, W2_SEED1));
}

await runIfMain(import.meta.url, run);
