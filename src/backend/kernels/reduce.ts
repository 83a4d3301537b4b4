import * as tf from '@tensorflow/tfjs';
import { allFloat32, sizeOf, type NativeKernel, type NativeKernelArgs } from './types.js';

/** Op codes of native/src/reduce.cc. */
const REDUCE = { Sum: 0, Max: 1, Min: 2, Mean: 3 } as const;

function reduce(name: keyof typeof REDUCE, axisAttr: string) {
  return ({ inputs, attrs, backend }: NativeKernelArgs): tf.TensorInfo | null => {
    const { x } = inputs;
    if (!allFloat32(x)) return null;
    const shape = x.shape;
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], shape).sort((p, q) => p - q);
    if (axes.length === 0 || sizeOf(shape) === 0) return null;
    for (let i = 1; i < axes.length; ++i) if (axes[i] !== axes[i - 1] + 1) return null;
    const first = axes[0], last = axes[axes.length - 1];
    const outer = sizeOf(shape.slice(0, first));
    const reduced = sizeOf(shape.slice(first, last + 1));
    const inner = sizeOf(shape.slice(last + 1));
    const out = backend.alloc(outer * inner);
    backend.addon.reduce(REDUCE[name], backend.f32(x), out, outer, reduced, inner);
    const keep = Boolean(attrs.keepDims);
    const outShape = shape.flatMap((d, i) => (i < first || i > last ? [d] : keep ? [1] : []));
    return backend.output(outShape, out);
  };
}

export const reduceKernels: NativeKernel[] = [
  { kernelName: 'Sum', kernelFunc: reduce('Sum', 'axis') },
  { kernelName: 'Mean', kernelFunc: reduce('Mean', 'axis') },
  { kernelName: 'Max', kernelFunc: reduce('Max', 'reductionIndices') },
  { kernelName: 'Min', kernelFunc: reduce('Min', 'axis') },
  {
    kernelName: 'Softmax',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { logits } = inputs;
      const rank = logits.shape.length;
      const dim = Number(attrs.dim ?? -1);
      if (!allFloat32(logits) || rank === 0 || (dim !== -1 && dim !== rank - 1)) return null;
      const cols = logits.shape[rank - 1];
      const rows = sizeOf(logits.shape) / Math.max(cols, 1);
      if (cols === 0) return null;
      const out = backend.alloc(rows * cols);
      backend.addon.softmax(backend.f32(logits), out, rows, cols);
      return backend.output(logits.shape, out);
    },
  },
];
