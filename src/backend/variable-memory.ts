/**
 * The arrays behind variables on the native backend, for code that updates them in place (the
 * optimizers' one-pass updates, the whole-step trainers).
 */
import * as tf from '@tensorflow/tfjs';
import { NativeBackend } from './native-backend.js';

/** The active backend when it is the native one. */
export function nativeBackend(): NativeBackend | null {
  const b = tf.backend();
  return b instanceof NativeBackend ? b : null;
}

/**
 * The array behind `v`, safe to overwrite in place: it must be a whole pool array that no other
 * tensor shares. Otherwise the variable first gets a private copy (once; later steps reuse it).
 */
export function writable(backend: NativeBackend, v: tf.Variable): Float32Array {
  const entry = backend.data.get(v.dataId);
  const values = entry.values;
  if (backend.refCount(v.dataId) === 1 && backend.pool.ownsWhole(values)) return values as Float32Array;
  const copy = backend.alloc(v.size);
  copy.set(values as ArrayLike<number>);
  if (backend.refCount(v.dataId) === 1) {
    entry.values = copy;
  } else {
    const t = tf.engine().makeTensorFromTensorInfo(backend.output(v.shape, copy), backend);
    v.assign(t);
    t.dispose();
  }
  return copy;
}
