import * as tf from '@tensorflow/tfjs';
import { allFloat32, sizeOf, type NativeKernel, type NativeKernelArgs } from './types.js';

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

function batchMatMul(
  { inputs, backend }: NativeKernelArgs,
  transposeA: boolean,
  transposeB: boolean,
  bias: tf.TensorInfo | undefined,
  activation: number,
): tf.TensorInfo | null {
  const { a, b } = inputs;
  if (!allFloat32(a, b, bias) || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb || k === 0) return null; // let the cpu kernel raise its error / handle empties
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA), batchB = sizeOf(outerB);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  // oneDNN broadcasts a whole side of batch 1; other broadcast patterns go to the cpu kernel.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  if (batchA === batchB && outerA.join() !== outerB.join()) return null;
  if (bias && (sizeOf(bias.shape) !== n || bias.shape[bias.shape.length - 1] !== n)) return null;
  const out = backend.alloc(Math.max(batchA, batchB) * m * n);
  if (out.length > 0) {
    backend.addon.matmul(backend.f32(a), backend.f32(b), out, batchA, batchB, m, n, k, transposeA, transposeB,
      bias ? backend.f32(bias) : null, activation);
  }
  return backend.output([...outer, m, n], out);
}

export const matmulKernels: NativeKernel[] = [
  {
    kernelName: 'BatchMatMul',
    kernelFunc: (args) =>
      batchMatMul(args, Boolean(args.attrs.transposeA), Boolean(args.attrs.transposeB), undefined, 0),
  },
  {
    kernelName: '_FusedMatMul',
    kernelFunc: (args) => {
      const activation = ACTIVATIONS[String(args.attrs.activation ?? 'linear')];
      if (activation === undefined) return null;
      if (args.inputs.preluActivationWeights) return null;
      return batchMatMul(args, Boolean(args.attrs.transposeA), Boolean(args.attrs.transposeB),
        args.inputs.bias as tf.TensorInfo | undefined,
        activation);
    },
  },
];
