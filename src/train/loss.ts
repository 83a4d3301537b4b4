import * as tf from '@tensorflow/tfjs';
import { activeBackendHas } from '../backend/has-kernel.js';
import { MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY } from '../backend/kernels/loss.js';

/**
 * Mean of tf.nn.sparse_softmax_cross_entropy_with_logits over the batch; with `labelSmoothing` ε,
 * the cross-entropy against (1 − ε)·one-hot + ε/classes (tf.losses.softmax_cross_entropy's
 * label_smoothing, PyTorch's cross_entropy(label_smoothing=ε)).
 *
 * One node on the gradient tape with TensorFlow's own gradient, (softmax − one-hot) / N, computed
 * in the forward pass: backprop through the dozen ops of log-softmax, one-hot product and mean
 * would cost more engine bookkeeping per step than the book MLP's small arithmetic.
 */
export function sparseSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  const fused = labelSmoothing === 0 && activeBackendHas(MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY);
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
    const targets = smoothedTargets(labels, classes, labelSmoothing);
    const value = tf.neg(tf.div(tf.sum(tf.mul(targets, logProbs)), rows)) as tf.Scalar;
    save([tf.div(tf.sub(tf.exp(logProbs), targets), rows)]);
    return { value, gradFunc };
  });
  return loss(logits) as tf.Scalar;
}

/** (1 − ε)·one-hot + ε/classes; the one-hot itself for ε = 0. */
function smoothedTargets(labels: tf.Tensor1D, classes: number, labelSmoothing: number): tf.Tensor {
  const oneHot = tf.oneHot(labels, classes);
  return labelSmoothing === 0 ? oneHot : tf.add(tf.mul(oneHot, 1 - labelSmoothing), labelSmoothing / classes);
}

/** The same loss written op by op (TensorFlow.js differentiates it): the reference for tests. */
export function sparseSoftmaxCrossEntropyReference(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    const targets = smoothedTargets(labels, logits.shape[1], labelSmoothing);
    return tf.neg(tf.mean(tf.sum(tf.mul(targets, logProbs), 1))) as tf.Scalar;
  });
}
