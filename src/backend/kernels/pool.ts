import * as tf from '@tensorflow/tfjs';
import { allFloat32, sizeOf, type NativeKernel } from './types.js';

type Pad = Parameters<typeof tf.backend_util.computePool2DInfo>[4];
type Rounding = Parameters<typeof tf.backend_util.computePool2DInfo>[5];

function poolGeometry(xShape: number[], attrs: Record<string, unknown>) {
  const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number],
    attrs.filterSize as [number, number] | number, attrs.strides as [number, number] | number, 1,
    attrs.pad as Pad, attrs.dimRoundingMode as Rounding);
  const g = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth,
    info.outHeight, info.outWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    info.padInfo.top, info.padInfo.left];
  return { info, g };
}

/** Name of the fused max-pool, ReLU and bias gradient (no TensorFlow op; native backend only). */
export const POOL_RELU_BIAS_GRAD = 'MaxPool2x2ReluBiasGrad';

/**
 * Inputs dy (the gradient of a 2×2 stride-2 VALID max-pool's output) and y (its input, a ReLU
 * output, [n, h, w, c]): outputs [ReluGrad(MaxPoolGrad(dy, y), y), its sum over all but the last
 * axis] — a convolution's pre-activation and bias gradients when a max-pool follows its ReLU.
 */
const poolReluBiasGrad: NativeKernel = {
  kernelName: POOL_RELU_BIAS_GRAD,
  requires: 'maxPool2x2ReluBiasGrad',
  kernelFunc: ({ inputs, backend }) => {
    const { dy, y } = inputs;
    if (!allFloat32(dy, y) || y.shape.length !== 4) return null;
    const [n, h, w, c] = y.shape;
    if (dy.shape.join() !== [n, Math.floor(h / 2), Math.floor(w / 2), c].join() || sizeOf(y.shape) === 0) return null;
    const dx = backend.alloc(sizeOf(y.shape));
    const db = backend.alloc(c);
    backend.addon.maxPool2x2ReluBiasGrad(backend.f32(dy), backend.f32(y), dx, db, n, h, w, c);
    return [backend.output(y.shape, dx), backend.output([c], db)];
  },
};

export const poolKernels: NativeKernel[] = [
  poolReluBiasGrad,
  {
    kernelName: 'MaxPool',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x } = inputs;
      if (!allFloat32(x) || x.shape.length !== 4) return null;
      const { info, g } = poolGeometry(x.shape, attrs);
      const out = backend.alloc(sizeOf(info.outShape));
      backend.addon.maxPool(backend.f32(x), out, ...g);
      return backend.output(info.outShape, out);
    },
  },
  {
    kernelName: 'MaxPoolGrad',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, input } = inputs;
      if (!allFloat32(dy, input) || input.shape.length !== 4) return null;
      const { g } = poolGeometry(input.shape, attrs);
      const dx = backend.alloc(sizeOf(input.shape));
      backend.addon.maxPoolGrad(backend.f32(dy), backend.f32(input), dx, ...g);
      return backend.output(input.shape, dx);
    },
  },
];
