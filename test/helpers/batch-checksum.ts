/** An order-sensitive FNV-1a checksum over the float32 bits of every value of a run of batches. */
export function batchChecksum<B extends { [K in keyof B]: ArrayLike<number> }>(batches: number, next: () => B): string {
  let h = 0x811c9dc5;
  for (let b = 0; b < batches; b++) {
    for (const values of Object.values<ArrayLike<number>>(next())) {
      const bits = new Uint32Array(Float32Array.from(values).buffer);
      for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i], 0x01000193) >>> 0;
    }
  }
  return h.toString(16);
}
