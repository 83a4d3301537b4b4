/** The ArrayBuffers of typed arrays in a value (and its properties, two levels deep) that can be
 *  transferred to another thread instead of copied: only arrays owning their whole buffer
 *  (Node's pooled Buffers can't be transferred). */
export function transferables(value: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    if (b instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === b.byteLength && !Buffer.isBuffer(value) && !out.includes(b)) {
      out.push(b);
    }
  } else if (value && typeof value === 'object' && depth < 2) {
    for (const v of Object.values(value)) transferables(v, out, depth + 1);
  }
  return out;
}
