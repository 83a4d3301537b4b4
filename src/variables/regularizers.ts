import * as tf from '@tensorflow/tfjs';

/** tf.contrib.layers.l1_regularizer / l2_regularizer, with TensorFlow's exact formulas. */
export type Regularizer = { kind: 'l1'; scale: number } | { kind: 'l2'; scale: number };

export const l1Regularizer = (scale: number): Regularizer => ({ kind: 'l1', scale });
export const l2Regularizer = (scale: number): Regularizer => ({ kind: 'l2', scale });

/** l1: λ·Σ|w|; l2: λ·Σw²/2 (TensorFlow's l2_loss halves the sum). */
export function regularizationLoss(reg: Regularizer, weights: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    reg.kind === 'l1'
      ? tf.mul(reg.scale, tf.sum(tf.abs(weights)))
      : tf.mul(reg.scale / 2, tf.sum(tf.square(weights))),
  ) as tf.Scalar;
}
