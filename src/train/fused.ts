import type * as tf from '@tensorflow/tfjs';
import { nativeBackend, writable } from '../backend/optimizers.js';
import type { NativeAddon } from '../backend/addon.js';

/**
 * In-place, one-pass updates on the native backend (a variable touched once per step instead of
 * by 3–10 tensor ops). `null` on other backends: callers then use plain TensorFlow.js ops.
 */
export interface FusedUpdates {
  addon: NativeAddon;
  /** The variable's own array, safe to overwrite. */
  target(v: tf.Variable): Float32Array;
  /** A tensor's values, read-only. */
  values(t: tf.Tensor): Float32Array;
}

export function fusedUpdates(...tensors: tf.Tensor[]): FusedUpdates | null {
  const backend = nativeBackend();
  if (!backend || tensors.some((t) => t.dtype !== 'float32')) return null;
  return {
    addon: backend.addon,
    target: (v) => writable(backend, v),
    values: (t) => backend.f32(t),
  };
}
