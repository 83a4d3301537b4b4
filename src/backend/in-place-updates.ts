import * as tf from '@tensorflow/tfjs';
import { nativeBackend, writable } from './variable-memory.js';

/**
 * In-place, one-pass variable updates where the active backend has them (the native backend: a
 * variable touched once per step instead of by 3–10 tensor ops). `inPlaceUpdates()` returns null
 * elsewhere and callers use plain TensorFlow.js ops. Training code sees only this interface, never
 * the addon. Each update that takes `decay` also folds in L2 (g + decay·w) and returns Σw²/2
 * measured before the update.
 */
export interface InPlaceUpdates {
  sgd(v: tf.Variable, grad: tf.Tensor, lr: number, decay: number): number;
  momentum(v: tf.Variable, grad: tf.Tensor, accum: tf.Variable, lr: number, momentum: number, decay: number): number;
  /** TensorFlow's Adam with c1 = 1/(1-β1ᵗ), c2 = 1/(1-β2ᵗ) and epsilonHat = ε·sqrt(c2). */
  adam(v: tf.Variable, grad: tf.Tensor, m: tf.Variable, s: tf.Variable, lr: number, beta1: number, beta2: number, epsilonHat: number, c1: number, c2: number, decay: number): number;
  /** shadow -= (1 - decay)·(shadow - v). */
  movingAverage(shadow: tf.Variable, v: tf.Tensor, oneMinusDecay: number): void;
}

export function inPlaceUpdates(...tensors: tf.Tensor[]): InPlaceUpdates | null {
  const backend = nativeBackend();
  if (!backend || tensors.some((t) => t.dtype !== 'float32')) return null;
  const { addon } = backend;
  const target = (v: tf.Variable) => writable(backend, v);
  const values = (t: tf.Tensor) => backend.f32(t);
  return {
    sgd: (v, grad, lr, decay) => addon.sgd(target(v), values(grad), v.size, lr, decay),
    momentum: (v, grad, accum, lr, momentum, decay) => addon.momentum(target(v), values(grad), target(accum), v.size, lr, momentum, false, decay),
    adam: (v, grad, m, s, lr, beta1, beta2, epsilonHat, c1, c2, decay) =>
      addon.adam(target(v), values(grad), target(m), target(s), v.size, lr, beta1, beta2, epsilonHat, c1, c2, decay),
    movingAverage: (shadow, v, oneMinusDecay) => addon.movingAverage(target(shadow), values(v), shadow.size, oneMinusDecay),
  };
}
