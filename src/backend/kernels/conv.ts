import * as tf from '@tensorflow/tfjs';
import { allFloat32, sizeOf, type NativeKernel } from './types.js';

type ConvInfo = tf.backend_util.Conv2DInfo;

/** The 17 numbers native/src/conv.cc expects, or null when oneDNN cannot express this geometry. */
function geometry(c: ConvInfo): number[] | null {
  if (c.dataFormat !== 'channelsLast') return null;
  const p = c.padInfo;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0) return null;
  const fits = (size: number, f: number, d: number, s: number, lo: number, hi: number, out: number) =>
    Math.floor((size + lo + hi - ((f - 1) * d + 1)) / s) + 1 === out;
  if (!fits(c.inHeight, c.filterHeight, c.dilationHeight, c.strideHeight, p.top, p.bottom, c.outHeight)) return null;
  if (!fits(c.inWidth, c.filterWidth, c.dilationWidth, c.strideWidth, p.left, p.right, c.outWidth)) return null;
  if (c.batchSize * c.outHeight * c.outWidth * c.outChannels === 0 || c.inChannels === 0) return null;
  return [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.filterHeight, c.filterWidth, c.outChannels,
    c.outHeight, c.outWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    p.top, p.left, p.bottom, p.right];
}

function formatOf(attrs: Record<string, unknown>): 'channelsLast' | 'channelsFirst' {
  return tf.backend_util.convertConv2DDataFormat(String(attrs.dataFormat ?? 'NHWC') as 'NHWC' | 'NCHW');
}

type Pad = Parameters<typeof tf.backend_util.computeConv2DInfo>[4];
type Rounding = Parameters<typeof tf.backend_util.computeConv2DInfo>[5];

function convInfo(xShape: number[], filterShape: number[], attrs: Record<string, unknown>,
  dilations: number | [number, number]): ConvInfo {
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number],
    filterShape as [number, number, number, number], attrs.strides as number | [number, number], dilations,
    attrs.pad as Pad, attrs.dimRoundingMode as Rounding, false, formatOf(attrs));
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

export const convKernels: NativeKernel[] = [
  {
    kernelName: 'Conv2D',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter } = inputs;
      if (!allFloat32(x, filter)) return null;
      const info = convInfo(x.shape, filter.shape, attrs, attrs.dilations as [number, number]);
      const g = geometry(info);
      if (!g) return null;
      const out = backend.alloc(sizeOf(info.outShape));
      backend.addon.conv2d(backend.f32(x), backend.f32(filter), out, null, 0, ...g);
      return backend.output(info.outShape, out);
    },
  },
  {
    kernelName: 'FusedConv2D',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter } = inputs;
      const bias = inputs.bias as tf.TensorInfo | undefined;
      const preluActivationWeights = inputs.preluActivationWeights as tf.TensorInfo | undefined;
      const activation = ACTIVATIONS[String(attrs.activation ?? 'linear')];
      if (activation === undefined || preluActivationWeights || !allFloat32(x, filter, bias)) return null;
      const info = convInfo(x.shape, filter.shape, attrs, attrs.dilations as [number, number]);
      const g = geometry(info);
      if (!g) return null;
      if (bias && (sizeOf(bias.shape) !== info.outChannels || bias.shape[bias.shape.length - 1] !== info.outChannels)) {
        return null;
      }
      const out = backend.alloc(sizeOf(info.outShape));
      backend.addon.conv2d(backend.f32(x), backend.f32(filter), out, bias ? backend.f32(bias) : null, activation, ...g);
      return backend.output(info.outShape, out);
    },
  },
  {
    kernelName: 'Conv2DBackpropInput',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, filter } = inputs;
      if (!allFloat32(dy, filter)) return null;
      const inputShape = attrs.inputShape as number[];
      const info = convInfo(inputShape, filter.shape, attrs, 1);
      const g = geometry(info);
      if (!g) return null;
      const dx = backend.alloc(sizeOf(inputShape));
      backend.addon.conv2dBackpropInput(backend.f32(dy), backend.f32(filter), dx, ...g);
      return backend.output(inputShape, dx);
    },
  },
  {
    kernelName: 'Conv2DBackpropFilter',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, dy } = inputs;
      if (!allFloat32(x, dy)) return null;
      const filterShape = attrs.filterShape as number[];
      const info = convInfo(x.shape, filterShape, attrs, 1);
      const g = geometry(info);
      if (!g) return null;
      const dw = backend.alloc(sizeOf(filterShape));
      backend.addon.conv2dBackpropFilter(backend.f32(x), backend.f32(dy), dw, ...g);
      return backend.output(filterShape, dw);
    },
  },
];
