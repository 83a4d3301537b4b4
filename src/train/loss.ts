import * as tf from '@tensorflow/tfjs';
import { activeBackendHas } from '../backend/has-kernel.js';
import { MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY } from '../backend/kernels/loss.js';

/**
 * Mean of tf.nn.sparse_softmax_cross_entropy_with_logits over the batch.
 *
 * One node on the gradient tape with TensorFlow's own gradient, (softmax − one-hot) / N, computed
 * in the forward pass: backprop through the dozen ops of log-softmax, one-hot product and mean
 * would cost more engine bookkeeping per step than the book MLP's small arithmetic.
 */
export function sparseSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const fused = activeBackendHas(MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY);
  const loss = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const gradFunc = (dy: tf.Tensor, [gradient]: tf.Tensor[]) => tf.mul(dy, gradient);
    if (fused) {
      // One kernel: the loss and its gradient in a single pass over the logits.
      const [value, gradient] = tf.engine().runKernel(MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY, { logits: x, labels }) as tf.Tensor[];
      save([gradient]);
      return { value: value as tf.Scalar, gradFunc };
    }
    const [rows, classes] = x.shape;
    const logProbs = tf.logSoftmax(x as tf.Tensor2D);
    const oneHot = tf.oneHot(labels, classes);
    const value = tf.neg(tf.div(tf.sum(tf.mul(oneHot, logProbs)), rows)) as tf.Scalar;
    save([tf.div(tf.sub(tf.exp(logProbs), oneHot), rows)]);
    return { value, gradFunc };
  });
  return loss(logits) as tf.Scalar;
}

/** The same loss written op by op (TensorFlow.js differentiates it): the reference for tests. */
export function sparseSoftmaxCrossEntropyReference(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const oneHot = tf.oneHot(labels, logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbs), 1))) as tf.Scalar;
  });
}
