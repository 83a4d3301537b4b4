// Functions for Dataset.mapParallel tests; each worker thread imports this module.
import { threadId } from 'node:worker_threads';

/** Squares x after a delay that makes early inputs finish last, to catch out-of-order output. */
export async function slowSquare(x: number): Promise<{ x: number; y: number; thread: number }> {
  await new Promise((r) => setTimeout(r, x % 3 === 0 ? 15 : 1));
  return { x, y: x * x, thread: threadId };
}

export function failOnSeven(x: number): number {
  if (x === 7) throw new RangeError('seven is not allowed');
  return x;
}

export function doubleArray(a: Float32Array): Float32Array {
  return a.map((v) => v * 2);
}
