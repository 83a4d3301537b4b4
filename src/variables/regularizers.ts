import * as tf from '@tensorflow/tfjs';
import { activeBackendHas } from '../backend/has-kernel.js';
import { L2_LOSS } from '../backend/kernels/loss.js';

/** tf.contrib.layers.l1_regularizer / l2_regularizer, with TensorFlow's exact formulas. */
export type Regularizer = { kind: 'l1'; scale: number } | { kind: 'l2'; scale: number };

export const l1Regularizer = (scale: number): Regularizer => ({ kind: 'l1', scale });
export const l2Regularizer = (scale: number): Regularizer => ({ kind: 'l2', scale });

/**
 * l1: λ·Σ|w|; l2: λ·Σw²/2 (TensorFlow's l2_loss halves the sum). The L2 term is one node on the
 * gradient tape with its gradient λ·w written out (one product per step instead of the three that
 * differentiating square, sum and scale would cost on a 392,000-value weight matrix).
 */
export function regularizationLoss(reg: Regularizer, weights: tf.Tensor): tf.Scalar {
  if (reg.kind === 'l1') return tf.tidy(() => tf.mul(reg.scale, tf.sum(tf.abs(weights)))) as tf.Scalar;
  const l2 = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [w, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([w]);
    return {
      // TensorFlow's l2_loss op where the backend has it (one pass, no squared copy).
      value: (activeBackendHas(L2_LOSS) && w.size > 0
        ? tf.mul(reg.scale, tf.engine().runKernel(L2_LOSS, { x: w }) as tf.Tensor)
        : tf.mul(reg.scale / 2, tf.sum(tf.square(w)))) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(tf.mul(dy, reg.scale), saved),
    };
  });
  return l2(weights) as tf.Scalar;
}
