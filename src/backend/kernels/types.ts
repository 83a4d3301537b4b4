import type * as tf from '@tensorflow/tfjs';
import type { NativeBackend } from '../native-backend.js';
import type { NativeAddon } from '../addon.js';

export interface NativeKernelArgs {
  // Optional inputs (bias, prelu weights) may be absent: read them as possibly undefined.
  inputs: Record<string, tf.TensorInfo>;
  attrs: Record<string, unknown>;
  backend: NativeBackend;
}

/** A native kernel; returning null hands the call to the stock cpu kernel (unsupported case). */
export interface NativeKernel {
  kernelName: string;
  kernelFunc(args: NativeKernelArgs): tf.TensorInfo | tf.TensorInfo[] | null;
  /** The addon function it calls, when the addon may predate it: absent there, the kernel is not registered. */
  requires?: keyof NativeAddon;
}

export function allFloat32(...ts: Array<tf.TensorInfo | undefined>): boolean {
  return ts.every((t) => t === undefined || t.dtype === 'float32');
}

export function sizeOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
