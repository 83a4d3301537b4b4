/**
 * Recycles the Float32Arrays that native kernels write their outputs into. A fresh large typed
 * array costs page faults that outweigh the arithmetic on it, so freed outputs are kept by length
 * and handed out again. Only arrays this pool allocated are ever recycled.
 */
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<ArrayBuffer>();
  private pooledBytes = 0;

  constructor(private readonly maxPooledBytes = 256 * 1024 * 1024) {}

  /** A Float32Array of `length` elements with unspecified contents. */
  take(length: number): Float32Array {
    const list = this.free.get(length);
    const recycled = list?.pop();
    if (recycled) {
      this.pooledBytes -= recycled.byteLength;
      return recycled;
    }
    const fresh = new Float32Array(length);
    this.owned.add(fresh.buffer as ArrayBuffer);
    return fresh;
  }

  /** True when `values` is, or is a view into, an array from this pool. */
  owns(values: unknown): boolean {
    return ArrayBuffer.isView(values) && this.owned.has(values.buffer as ArrayBuffer);
  }

  /** True when `values` is a whole array from this pool (not a view into part of one). */
  ownsWhole(values: unknown): boolean {
    return values instanceof Float32Array && this.owned.has(values.buffer as ArrayBuffer) &&
      values.byteOffset === 0 && values.byteLength === values.buffer.byteLength;
  }

  /** Gives a pool array back; anything else is ignored (left to the garbage collector). */
  give(released: unknown): void {
    if (!this.ownsWhole(released)) return;
    const values = released as Float32Array;
    if (this.pooledBytes + values.byteLength > this.maxPooledBytes) return;
    let list = this.free.get(values.length);
    if (!list) this.free.set(values.length, (list = []));
    list.push(values);
    this.pooledBytes += values.byteLength;
  }

  stats(): { pooledBytes: number; sizes: number } {
    return { pooledBytes: this.pooledBytes, sizes: this.free.size };
  }
}
