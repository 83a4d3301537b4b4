/** Seed derivation for reproducible pipelines: one user seed → independent streams (per epoch, per op). */

/** splitmix32-style avalanche of (seed, stream) into one 32-bit seed. */
export function deriveSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b9) ^ Math.imul(stream >>> 0, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x21f0aaad);
  h ^= h >>> 15;
  h = Math.imul(h, 0x735a2d97);
  h ^= h >>> 15;
  return h >>> 0;
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296);
}
