import { allFloat32, sizeOf, type NativeKernel } from './types.js';

/**
 * Training-mode batch normalisation over the last axis: inputs x, scale, offset; attr epsilon;
 * outputs [y, mean, variance] (variance biased: Σ(x − mean)²/n, the one y is normalised with).
 */
export const BATCH_NORM_TRAIN = 'MnistBatchNormTrain';

/** BATCH_NORM_TRAIN's gradients: inputs dy, x, scale, mean, variance; attr epsilon; outputs [dx, dScale, dOffset]. */
export const BATCH_NORM_TRAIN_GRAD = 'MnistBatchNormTrainGrad';

const channelsOf = (shape: number[]) => shape[shape.length - 1];

const batchNormTrain: NativeKernel = {
  kernelName: BATCH_NORM_TRAIN,
  requires: 'batchNormTrain',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, scale, offset } = inputs;
    if (!allFloat32(x, scale, offset) || x.shape.length < 2) return null;
    const channels = channelsOf(x.shape);
    const n = sizeOf(x.shape);
    if (n === 0 || scale.shape.join() !== `${channels}` || offset.shape.join() !== `${channels}`) return null;
    const [y, mean, variance] = [backend.alloc(n), backend.alloc(channels), backend.alloc(channels)];
    backend.addon.batchNormTrain(backend.f32(x), backend.f32(scale), backend.f32(offset), y, mean, variance, n / channels, channels, Number(attrs.epsilon));
    return [backend.output(x.shape, y), backend.output([channels], mean), backend.output([channels], variance)];
  },
};

const batchNormTrainGrad: NativeKernel = {
  kernelName: BATCH_NORM_TRAIN_GRAD,
  requires: 'batchNormTrainGrad',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, x, scale, mean, variance } = inputs;
    if (!allFloat32(dy, x, scale, mean, variance) || x.shape.length < 2 || dy.shape.join() !== x.shape.join()) return null;
    const channels = channelsOf(x.shape);
    const n = sizeOf(x.shape);
    if (n === 0) return null;
    const [dx, dScale, dOffset] = [backend.alloc(n), backend.alloc(channels), backend.alloc(channels)];
    backend.addon.batchNormTrainGrad(backend.f32(dy), backend.f32(x), backend.f32(scale), backend.f32(mean), backend.f32(variance),
      dx, dScale, dOffset, n / channels, channels, Number(attrs.epsilon));
    return [backend.output(x.shape, dx), backend.output([channels], dScale), backend.output([channels], dOffset)];
  },
};

export const batchNormKernels: NativeKernel[] = [batchNormTrain, batchNormTrainGrad];
