import type * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BufferPool } from './buffer-pool.js';
import type { NativeAddon } from './addon.js';

type DataId = object;

/**
 * The `cpu` backend with oneDNN kernels on top: tensors live in the same typed arrays, so native
 * kernels read and write them in place. Outputs of native kernels come from a BufferPool; the
 * overrides below keep pooled arrays from leaking out (reads copy) and recycle them on dispose.
 */
export class NativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool();

  constructor(readonly addon: NativeAddon) {
    super();
    // Otherwise the cpu backend advises installing tfjs-node on its first write.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** The float32 values of a tensor (no copy, unless it is stored in another array type). */
  f32(t: tf.TensorInfo): Float32Array {
    const values = this.data.get(t.dataId).values;
    // A bool tensor cast to float32 keeps its Uint8Array (the cpu Cast is an identity there).
    return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  }

  /** A pooled output array (contents unspecified: the kernel must write every element). */
  alloc(size: number): Float32Array {
    return this.pool.take(size);
  }

  output(shape: number[], values: Float32Array): tf.TensorInfo {
    return this.makeTensorInfo(shape, 'float32', values);
  }

  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    const values = super.readSync(dataId);
    // Callers of dataSync() keep the array; a pooled one would be overwritten after dispose.
    return this.pool.owns(values) ? (values as Float32Array).slice() : values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.give(values);
    return released;
  }

  /**
   * After a stock cpu kernel ran: an output that is a view of (or the same array as) a pooled
   * array, under a new data id, would be corrupted when the pool recycles that array. Copy it.
   */
  detachAliases(inputs: Record<string, tf.TensorInfo | undefined>, outputs: tf.TensorInfo | tf.TensorInfo[]): void {
    const list = Array.isArray(outputs) ? outputs : [outputs];
    for (const out of list) {
      if (!this.data.has(out.dataId)) continue;
      const entry = this.data.get(out.dataId);
      if (!this.pool.owns(entry.values)) continue;
      if (Object.values(inputs).some((t) => t?.dataId === out.dataId)) continue;
      entry.values = (entry.values as Float32Array).slice();
    }
  }
}
