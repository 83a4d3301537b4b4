import type * as tf from '@tensorflow/tfjs';
import { allFloat32, sizeOf, type NativeKernel, type NativeKernelArgs } from './types.js';

/**
 * Training-loss kernels TensorFlow has and TensorFlow.js lacks. Without them the book MLP's loss
 * is a dozen tiny ops per step (log-softmax, one-hot, products, sums and their gradients), each
 * paying the engine's per-op cost, and L2 is a square and a sum over every weight.
 */
export const L2_LOSS = 'L2Loss';
export const MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY = 'MeanSparseSoftmaxCrossEntropy';

/** Op code of native/src/reduce.cc for sum(x²)/2. */
const HALF_SUM_SQUARES = 4;

/** TensorFlow's L2Loss op: sum(t²) / 2, a scalar. */
function l2Loss({ inputs, backend }: NativeKernelArgs): tf.TensorInfo | null {
  const { x } = inputs;
  if (!allFloat32(x) || sizeOf(x.shape) === 0) return null;
  const out = backend.alloc(1);
  backend.addon.reduce(HALF_SUM_SQUARES, backend.f32(x), out, 1, sizeOf(x.shape), 1);
  return backend.output([], out);
}

/**
 * The mean over a batch of tf.nn.sparse_softmax_cross_entropy_with_logits, and its gradient with
 * respect to the logits in the same pass: outputs [loss (scalar), (softmax − one-hot) / rows].
 * Labels outside [0, classes) give NaN, as TensorFlow's CPU kernel does.
 */
function meanSparseSoftmaxCrossEntropy({ inputs, backend }: NativeKernelArgs): tf.TensorInfo[] | null {
  const { logits, labels } = inputs;
  if (!allFloat32(logits) || logits.shape.length !== 2 || labels.shape.length !== 1) return null;
  const [rows, classes] = logits.shape;
  if (labels.shape[0] !== rows || rows === 0 || classes === 0) return null;
  const x = backend.f32(logits);
  const y = backend.data.get(labels.dataId).values as ArrayLike<number>;
  const gradient = backend.alloc(rows * classes);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const at = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, x[at + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(x[at + c] - max);
      gradient[at + c] = e;
      sum += e;
    }
    const label = y[r];
    const valid = Number.isInteger(label) && label >= 0 && label < classes;
    total += valid ? Math.log(sum) + max - x[at + label] : NaN;
    const scale = valid ? 1 / (sum * rows) : NaN;
    for (let c = 0; c < classes; c++) gradient[at + c] *= scale;
    if (valid) gradient[at + label] -= 1 / rows;
  }
  const loss = backend.alloc(1);
  loss[0] = total / rows;
  return [backend.output([], loss), backend.output([rows, classes], gradient)];
}

/** Kernels under names the cpu backend does not have (registered for `native` only). */
export const lossKernels: NativeKernel[] = [
  { kernelName: L2_LOSS, kernelFunc: l2Loss },
  { kernelName: MEAN_SPARSE_SOFTMAX_CROSS_ENTROPY, kernelFunc: meanSparseSoftmaxCrossEntropy },
];
