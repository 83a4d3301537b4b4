import * as tf from '@tensorflow/tfjs';
import { allFloat32, sizeOf, type NativeKernel } from './types.js';

/**
 * Op codes of native/src/eltwise.cc. ReluGrad (inputs a = gradients, b = the ReLU's input or
 * output) is TensorFlow's op; TensorFlow.js has none, so it exists on the native backend only.
 */
const BINARY: Record<string, number> = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, ReluGrad: 7,
};
const UNARY: Record<string, number> = {
  Relu: 0, Sqrt: 1, Rsqrt: 2, Square: 3, Exp: 4, Log: 5, Neg: 6, Abs: 7, Step: 8, Sigmoid: 9, Tanh: 10,
  Reciprocal: 11, Relu6: 12, Floor: 13,
};

export interface BroadcastView {
  dims: number[];
  stridesA: number[];
  stridesB: number[];
}

function contiguousStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * Describes out[i] = op(a[..], b[..]) over the broadcast output as at most four nested loops with
 * per-operand strides (0 where an operand is broadcast), merging dimensions wherever both operands
 * stay contiguous across them. Null when more than four loops would remain.
 */
export function broadcastView(aShape: number[], bShape: number[], outShape: number[]): BroadcastView | null {
  const r = outShape.length;
  const pad = (s: number[]) => [...new Array<number>(r - s.length).fill(1), ...s];
  const a = pad(aShape), b = pad(bShape);
  const ca = contiguousStrides(a), cb = contiguousStrides(b);
  let dims: number[] = [], sa: number[] = [], sb: number[] = [];
  for (let i = 0; i < r; ++i) {
    if (outShape[i] === 1) continue;
    const d = outShape[i], strideA = a[i] === 1 ? 0 : ca[i], strideB = b[i] === 1 ? 0 : cb[i];
    const last = dims.length - 1;
    if (last >= 0 && sa[last] === strideA * d && sb[last] === strideB * d) {
      dims[last] *= d;
      sa[last] = strideA;
      sb[last] = strideB;
    } else {
      dims.push(d);
      sa.push(strideA);
      sb.push(strideB);
    }
  }
  if (dims.length > 4) return null;
  while (dims.length < 4) {
    dims = [1, ...dims];
    sa = [0, ...sa];
    sb = [0, ...sb];
  }
  return { dims, stridesA: sa, stridesB: sb };
}

const binaryKernels: NativeKernel[] = Object.entries(BINARY).map(([kernelName, op]) => ({
  kernelName,
  kernelFunc: ({ inputs, backend }) => {
    const { a, b } = inputs;
    if (!allFloat32(a, b)) return null;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const view = broadcastView(a.shape, b.shape, outShape);
    if (!view) return null;
    const out = backend.alloc(sizeOf(outShape));
    if (out.length > 0) {
      backend.addon.binary(op, backend.f32(a), backend.f32(b), out, view.dims, view.stridesA, view.stridesB);
    }
    return backend.output(outShape, out);
  },
}));

const unaryKernels: NativeKernel[] = Object.entries(UNARY).map(([kernelName, op]) => ({
  kernelName,
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x } = inputs;
    if (!allFloat32(x)) return null;
    const n = sizeOf(x.shape);
    const out = backend.alloc(n);
    backend.addon.unary(op, backend.f32(x), out, n, Number(attrs.alpha ?? 0));
    return backend.output(x.shape, out);
  },
}));

const addN: NativeKernel = {
  kernelName: 'AddN',
  kernelFunc: ({ inputs, backend }) => {
    const tensors = Object.values(inputs);
    if (tensors.length === 0 || !allFloat32(...tensors)) return null;
    const shape = tensors[0].shape;
    if (tensors.some((t) => t.shape.join() !== shape.join())) return null;
    const n = sizeOf(shape);
    const out = backend.alloc(n);
    backend.addon.addN(tensors.map((t) => backend.f32(t)), out, n);
    return backend.output(shape, out);
  },
};

/** Name of the fused ReLU-and-bias gradient (no TensorFlow op; native backend only). */
export const RELU_BIAS_GRAD = 'ReluBiasGrad';

/**
 * Inputs dy (the gradient of a layer's ReLU output) and y (that output), both [..., channels]:
 * outputs [ReluGrad(dy, y), its sum over all but the last axis] — the pre-activation gradient and
 * the bias gradient of a dense or convolutional layer, in one pass instead of two.
 */
const reluBiasGrad: NativeKernel = {
  kernelName: RELU_BIAS_GRAD,
  kernelFunc: ({ inputs, backend }) => {
    const { dy, y } = inputs;
    if (!allFloat32(dy, y) || dy.shape.length === 0 || dy.shape.join() !== y.shape.join()) return null;
    const channels = dy.shape[dy.shape.length - 1];
    const n = sizeOf(dy.shape);
    if (n === 0) return null;
    const dx = backend.alloc(n);
    const db = backend.alloc(channels);
    backend.addon.reluBiasGrad(backend.f32(dy), backend.f32(y), dx, db, n / channels, channels);
    return [backend.output(dy.shape, dx), backend.output([channels], db)];
  },
};

export const eltwiseKernels: NativeKernel[] = [...binaryKernels, ...unaryKernels, addN, reluBiasGrad];
