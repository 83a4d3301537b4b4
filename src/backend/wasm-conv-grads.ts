import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface FilterGradAttrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

type WasmBackend = KernelBackend & {
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: tf.backend_util.BackendValues): TensorInfo;
};

/**
 * `Conv2DBackpropFilter` (the weight gradient of a convolution) for the wasm backend, which has
 * none. It is itself a convolution, run on wasm's own fast (XNNPACK) Conv2D. The cpu backend's version is ~1000× slower (80 s for one batch of the book's CNN).
 * NHWC only; `fallback` (the cpu-backed adapter) serves NCHW.
 */
export function wasmConv2DBackpropFilter(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as FilterGradAttrs;
    if (attrs.dataFormat === 'NCHW') return fallback(args);
    const backend = args.backend as WasmBackend;
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape,
      attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const [kh, kw, inC, outC] = attrs.filterShape;
    const { top, bottom, left, right } = info.padInfo;
    const values = tf.tidy(() => {
      const xt = borrow(x, backend) as tf.Tensor4D;
      const dyt = borrow(dy, backend);
      const padded = tf.pad(xt, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]]);
      // dW[i, j, c, o] = Σ_{n, y, x} padded[n, i + y·s, j + x·s, c] · dy[n, y, x, o]: a convolution of
      // the input (channels as batch, batch as channels) with dy as the filter, dilated by the stride.
      const images = padded.transpose([3, 1, 2, 0]) as tf.Tensor4D;
      const filter = dyt.transpose([1, 2, 0, 3]) as tf.Tensor4D;
      const out = tf.conv2d(images, filter, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
      return out.slice([0, 0, 0, 0], [inC, kh, kw, outC]).transpose([1, 2, 0, 3]);
    });
    try {
      return backend.makeOutput(attrs.filterShape, 'float32', undefined, values.dataSync());
    } finally {
      values.dispose();
    }
  };
}

/** A tensor over a kernel input's data; its own reference, so disposing it leaves the input intact. */
function borrow(t: TensorInfo, backend: KernelBackend): tf.Tensor {
  backend.incRef(t.dataId);
  return tf.engine().makeTensorFromTensorInfo(t, backend);
}

interface InputGradAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/**
 * `Conv2DBackpropInput` for stride-1 NHWC convolutions (those of every model here) as a forward
 * convolution on XNNPACK: dy, padded by kernel−1−pad, convolved with the filter turned by 180° and
 * its channels swapped. wasm's own kernel (`fallback`, used for other strides) is a plain loop,
 * three times slower than this on the book's CNN.
 */
export function wasmConv2DBackpropInput(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as InputGradAttrs;
    const backend = args.backend as WasmBackend;
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const [kh, kw] = filter.shape;
    const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number],
      attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const { top, bottom, left, right } = info.padInfo;
    const pads = [kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right];
    if (attrs.dataFormat === 'NCHW' || info.strideHeight !== 1 || info.strideWidth !== 1 || pads.some((p) => p < 0)) {
      return fallback(args);
    }
    const values = tf.tidy(() => {
      const padded = tf.pad(borrow(dy, backend), [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]]) as tf.Tensor4D;
      const turned = tf.reverse(borrow(filter, backend), [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
      return tf.conv2d(padded, turned, 1, 'valid');
    });
    try {
      return backend.makeOutput(attrs.inputShape, 'float32', undefined, values.dataSync());
    } finally {
      values.dispose();
    }
  };
}
