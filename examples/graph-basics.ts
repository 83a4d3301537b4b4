/**
 * The book §3.1–3.3 (graphs, tensors, sessions) in TensorFlow.js terms. TensorFlow.js runs eagerly:
 * there is no graph to build and no session to run — an op returns its result at once, and
 * `tf.tidy` plays the part of "with tf.Session() as sess:" (it frees what the block created).
 * Separate graphs with their own variables become separate VariableStores.
 *
 *   node --import tsx examples/graph-basics.ts
 */
import * as tf from '@tensorflow/tfjs';
import { constant, zeros } from '../src/variables/initializers.js';
import { VariableStore } from '../src/variables/store.js';
import { runIfMain, type Print } from './lib/main.js';
import { numpyArray } from './lib/numpy-print.js';

export function run(print: Print): void {
  // Two graphs g1, g2 each with a variable "v": zeros in one, ones in the other.
  const g1 = new VariableStore();
  const g2 = new VariableStore();
  g1.getVariable('v', [1], { initializer: zeros() });
  g2.getVariable('v', [1], { initializer: constant(1) });
  for (const g of [g1, g2]) {
    // with tf.variable_scope("", reuse=True): print(sess.run(tf.get_variable("v")))
    const v = g.variableScope('', { reuse: true }, () => g.getVariable('v', [1]));
    print(numpyArray(v.dataSync(), v.shape));
  }
  g1.dispose();
  g2.dispose();

  tf.tidy(() => {
    // A tensor: TensorFlow prints Tensor("add:0", shape=(2,), dtype=int32) — a name, a shape, a type.
    // TensorFlow.js tensors have no graph name; shape and dtype are the same.
    const a = tf.tensor1d([1, 2], 'int32');
    const b = tf.tensor1d([2, 3], 'int32');
    const result = tf.add(a, b);
    print(`Tensor shape=(${result.shape.join(',')},) dtype=${result.dtype} value=[${result.dataSync().join(' ')}]`);

    // sess.run(result) / result.eval(): here the value is already there.
    const sum = tf.add(tf.scalar(1, 'int32'), tf.scalar(2, 'int32'));
    print(String(sum.dataSync()[0]));
  });
}

await runIfMain(import.meta.url, run);
