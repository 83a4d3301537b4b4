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

export const poolKernels: NativeKernel[] = [
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
