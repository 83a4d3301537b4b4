import * as tf from '@tensorflow/tfjs';

/**
 * Whether the active backend has a kernel of this name. Kernels TensorFlow.js lacks (`L2Loss`,
 * `ReluGrad`, `MeanSparseSoftmaxCrossEntropy`, `ReluBiasGrad`) exist on `native` only; callers
 * compose tfjs ops elsewhere.
 */
export function activeBackendHas(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
