import * as tf from '@tensorflow/tfjs';
import { activeBackendHas } from '../backend/has-kernel.js';
import { RELU_BIAS_GRAD } from '../backend/kernels/eltwise.js';
import { POOL_RELU_BIAS_GRAD } from '../backend/kernels/pool.js';

/**
 * A fully connected or convolutional layer (product, bias, optional ReLU) as ONE node on the
 * gradient tape, for the native backend: the forward pass is a single oneDNN call with the bias and
 * ReLU fused in, the backward pass is one ReluGrad-and-bias-sum kernel and the product's gradients — and no
 * gradient for the layer's input when nothing upstream is trainable (the first layer's images).
 * TensorFlow.js's own tf.fused ops stop fusing the activation whenever a gradient is recorded, and
 * their gradients always include the input's. `MNIST_FUSED_LAYERS=0` turns them off (A/B timing).
 */
export function fusedLayersAvailable(): boolean {
  return activeBackendHas('ReluGrad') && process.env.MNIST_FUSED_LAYERS !== '0';
}

export interface ConvGeometry {
  strides: [number, number];
  pad: 'same' | 'valid';
}

const engine = () => tf.engine();

/**
 * The gradient of the pre-activation and of the bias (summed over all but the last axis), given
 * the gradient dy of the layer's output y.
 */
function preActivationGrads(dy: tf.Tensor, y: tf.Tensor, relu: boolean): [tf.Tensor, tf.Tensor] {
  if (relu && activeBackendHas(RELU_BIAS_GRAD)) {
    return engine().runKernel(RELU_BIAS_GRAD, { dy, y }) as unknown as [tf.Tensor, tf.Tensor];
  }
  const g = relu ? (engine().runKernel('ReluGrad', { a: dy, b: y }) as tf.Tensor) : dy;
  return [g, tf.sum(g, [...Array(g.rank - 1).keys()])];
}

/** Whether a convolution layer with ReLU can take a 2×2 stride-2 max-pool into its tape node. */
export function poolFusionAvailable(): boolean {
  return fusedLayersAvailable() && activeBackendHas(POOL_RELU_BIAS_GRAD) && process.env.MNIST_FUSED_POOL !== '0';
}

/**
 * Runs `forward` as one tape node with inputs [x, weights, bias], or [weights, bias] when the input
 * needs no gradient; `backward` returns the gradients of (x and) the weights from the gradient of
 * the pre-activation. With `pool2x2` (ReLU layers only) the node's output is the 2×2 stride-2 VALID
 * max-pool of the layer's: its backward goes from the pooled gradient to the pre-activation's in
 * one kernel.
 */
function layer(
  x: tf.Tensor, weights: tf.Tensor, bias: tf.Tensor, relu: boolean, inputNeedsGrad: boolean,
  forward: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  backward: (g: tf.Tensor, x: tf.Tensor, w: tf.Tensor, inputGrad: boolean) => tf.Tensor[],
  pool2x2 = false,
): tf.Tensor {
  const gradients = (dy: tf.Tensor, [xs, ws, ys]: tf.Tensor[], inputGrad: boolean) => {
    const [g, biasGrad] = pool2x2
      ? (engine().runKernel(POOL_RELU_BIAS_GRAD, { dy, y: ys }) as unknown as [tf.Tensor, tf.Tensor])
      : preActivationGrads(dy, ys, relu);
    return [...backward(g, xs, ws, inputGrad), biasGrad];
  };
  const output = (y: tf.Tensor) => (pool2x2 ? (engine().runKernel('MaxPool', { x: y }, { filterSize: [2, 2], strides: [2, 2], pad: 'valid' }) as tf.Tensor) : y);
  if (inputNeedsGrad) {
    return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xi, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const y = forward(xi, w, b);
      save([xi, w, y]);
      return { value: output(y), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => gradients(dy, saved, true) };
    })(x, weights, bias);
  }
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [w, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const y = forward(x, w, b);
    // Saved, not captured: a tensor made inside the forward pass is disposed before the backward.
    save([x, w, y]);
    return { value: output(y), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => gradients(dy, saved, false) };
  })(weights, bias);
}

/** relu?(x · w + bias) for x [n, k], w [k, m], bias [m]. */
export function denseLayer(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor, relu: boolean, inputNeedsGrad: boolean): tf.Tensor {
  const matMul = (a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean) =>
    engine().runKernel('BatchMatMul', { a, b }, { transposeA, transposeB }) as tf.Tensor;
  return layer(x, w, bias, relu, inputNeedsGrad,
    (xi, wi, b) => engine().runKernel('_FusedMatMul', { a: xi, b: wi, bias: b },
      { transposeA: false, transposeB: false, activation: relu ? 'relu' : 'linear' }) as tf.Tensor,
    (g, xi, wi, inputGrad) => {
      const weightGrad = matMul(xi, g, true, false);
      return inputGrad ? [matMul(g, wi, false, true), weightGrad] : [weightGrad];
    });
}

/**
 * relu?(conv2d(x, filter) + bias), NHWC, no dilation; with `pool2x2` (needs `relu` and
 * poolFusionAvailable()), its 2×2 stride-2 VALID max-pool.
 */
export function convLayer(x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor, geometry: ConvGeometry, relu: boolean, inputNeedsGrad: boolean, pool2x2 = false): tf.Tensor {
  if (pool2x2 && !relu) throw new Error('a pooled convolution layer must have a ReLU');
  const attrs = { strides: geometry.strides, pad: geometry.pad, dataFormat: 'NHWC', dilations: [1, 1] };
  return layer(x, filter, bias, relu, inputNeedsGrad,
    (xi, w, b) => engine().runKernel('FusedConv2D', { x: xi, filter: w, bias: b }, { ...attrs, activation: relu ? 'relu' : 'linear' }) as tf.Tensor,
    (g, xi, w, inputGrad) => {
      const filterGrad = engine().runKernel('Conv2DBackpropFilter', { x: xi, dy: g }, { ...attrs, filterShape: w.shape }) as tf.Tensor;
      if (!inputGrad) return [filterGrad];
      return [engine().runKernel('Conv2DBackpropInput', { dy: g, filter: w }, { ...attrs, inputShape: xi.shape }) as tf.Tensor, filterGrad];
    }, pool2x2);
}
