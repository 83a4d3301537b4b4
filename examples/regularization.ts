/**
 * The book §4.3: L1 / L2 regularisation, and collecting every term of the loss in a `losses`
 * collection (tf.add_to_collection / tf.get_collection / tf.add_n) for a 5-layer network
 * [2, 10, 10, 10, 1] with an L2 penalty (λ = 0.001) on each weight matrix.
 *
 *   node --import tsx examples/regularization.ts
 */
import * as tf from '@tensorflow/tfjs';
import { constant, randomNormal } from '../src/variables/initializers.js';
import { l1Regularizer, l2Regularizer, regularizationLoss } from '../src/variables/regularizers.js';
import { GraphKeys, VariableStore } from '../src/variables/store.js';
import { runIfMain, type Print } from './lib/main.js';
import { float32Repr } from '../src/util/float32-repr.js';
import { NumpyRandomState } from './lib/numpy-random.js';

export const LAYER_DIMENSIONS = [2, 10, 10, 10, 1];

/** The book's network: returns the collected loss terms and their sum, for a batch (x, y). */
export function networkLoss(store: VariableStore, x: tf.Tensor2D, y: tf.Tensor2D, lambda = 0.001): { terms: tf.Scalar[]; total: tf.Scalar } {
  // get_weight(shape, lambda): a random_normal variable whose L2 term goes into `losses`.
  const getWeight = (shape: number[], k: number) => {
    const w = store.create(`Variable_${2 * k}`, shape, { initializer: randomNormal(1) }).variable;
    store.addToCollection(GraphKeys.LOSSES, regularizationLoss(l2Regularizer(lambda), w));
    return w;
  };
  let current: tf.Tensor2D = x;
  for (let i = 1; i < LAYER_DIMENSIONS.length; i++) {
    const weight = getWeight([LAYER_DIMENSIONS[i - 1], LAYER_DIMENSIONS[i]], i - 1);
    const bias = store.create(`Variable_${2 * (i - 1) + 1}`, [LAYER_DIMENSIONS[i]], { initializer: constant(0.1) }).variable;
    current = tf.relu(tf.add(tf.matMul(current, weight), bias)) as tf.Tensor2D;
  }
  const mse = tf.mean(tf.square(tf.sub(y, current))) as tf.Scalar;
  store.addToCollection(GraphKeys.LOSSES, mse);
  const terms = store.getCollection<tf.Scalar>(GraphKeys.LOSSES);
  return { terms, total: tf.addN(terms) as tf.Scalar };
}

export function run(print: Print): void {
  tf.tidy(() => {
    const weights = tf.tensor2d([[1.0, -2.0], [-3.0, 4.0]]);
    print(float32Repr(regularizationLoss(l1Regularizer(0.5), weights).dataSync()[0]));
    print(float32Repr(regularizationLoss(l2Regularizer(0.5), weights).dataSync()[0]));

    const rdm = new NumpyRandomState(1);
    const X = rdm.randMatrix(8, 2);
    const Y = X.map(([a, b]) => [a + b < 1 ? 1 : 0]);
    const store = new VariableStore(1);
    const { terms, total } = networkLoss(store, tf.tensor2d(X), tf.tensor2d(Y));
    const values = terms.map((t) => t.dataSync()[0]);
    print(`losses collection: ${values.length} terms (${values.length - 1} L2 penalties + the MSE)`);
    print(`add_n(losses) = ${float32Repr(total.dataSync()[0])} = ${values.map(float32Repr).join(' + ')}`);
    store.dispose();
  });
}

await runIfMain(import.meta.url, run);
