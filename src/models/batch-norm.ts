import * as tf from '@tensorflow/tfjs';
import { activeBackendHas } from '../backend/has-kernel.js';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../backend/kernels/batch-norm.js';

/** Receives a training batch normalisation's batch mean and biased variance per channel, valid only during the call. */
export type BatchStatisticsSink = (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;

/**
 * Batch normalisation over the last axis with the batch's own statistics, differentiable for x,
 * scale and offset; the statistics go to `statistics`. On the native backend one tape node with
 * one kernel each way (src/backend/kernels/batch-norm.ts); elsewhere TensorFlow.js's moments and batchNorm.
 */
export function batchNormTraining(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, epsilon: number, statistics?: BatchStatisticsSink): tf.Tensor {
  if (!activeBackendHas(BATCH_NORM_TRAIN) || !activeBackendHas(BATCH_NORM_TRAIN_GRAD)) {
    const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
    statistics?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    return tf.batchNorm(x, mean, variance, offset, scale, epsilon);
  }
  const engine = tf.engine();
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, s, o, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance] = engine.runKernel(BATCH_NORM_TRAIN, { x: xi, scale: s, offset: o }, { epsilon }) as unknown as tf.Tensor[];
    // A tape node's forward keeps only what it returns and saves: the statistics are handed on now.
    statistics?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    save([xi, s, mean, variance]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xs, ss, ms, vs]: tf.Tensor[]) =>
        engine.runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x: xs, scale: ss, mean: ms, variance: vs }, { epsilon }) as unknown as tf.Tensor[],
    };
  })(x, scale, offset);
}
