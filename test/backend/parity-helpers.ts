import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { registerNativeBackend } from '../../src/backend/native.js';
import { requirement } from '../helpers/requirements.js';

/**
 * Whether parity tests can run. Without the addon one test fails with that line (CI builds it) and
 * the others skip, unless MNIST_ALLOW_NO_NATIVE=1 says a missing addon is expected (never under CI=true).
 */
export function nativeOrSkip(): string | false {
  const reg = registerNativeBackend();
  return requirement('the native backend', reg.ok ? undefined : `${reg.reason}; MNIST_ALLOW_NO_NATIVE=1 skips its tests instead`, { mustHave: process.env.MNIST_ALLOW_NO_NATIVE !== '1' });
}

/** Deterministic uniform values in [lo, hi). */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

export interface InputSpec {
  shape: number[];
  lo?: number;
  hi?: number;
}

/**
 * Largest element-wise relative error of `actual` against `expected`, with the denominator
 * floored at the RMS of `expected`: both backends round in float32, so an element that cancels to
 * ~0 (a dot product of 784 random terms) is judged against the tensor's scale, not against zero.
 */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'length mismatch');
  let squares = 0, finite = 0;
  for (let i = 0; i < expected.length; ++i) {
    if (Number.isFinite(expected[i])) {
      squares += expected[i] * expected[i];
      finite++;
    }
  }
  const floor = Math.max(Math.sqrt(squares / Math.max(finite, 1)), 1e-30);
  let worst = 0;
  for (let i = 0; i < expected.length; ++i) {
    const e = expected[i], a = actual[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) return Infinity;
      continue;
    }
    if (e === a) continue;
    worst = Math.max(worst, Math.abs(a - e) / Math.max(Math.abs(e), floor));
  }
  return worst;
}

export const TOLERANCE = 1e-4;

async function runOn(backend: string, specs: InputSpec[], seed: number,
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<{ shapes: number[][]; values: Float32Array[] }> {
  await tf.setBackend(backend);
  const inputs = specs.map((s, i) =>
    tf.tensor(randomValues(s.shape.reduce((a, b) => a * b, 1), seed * 131 + i, s.lo, s.hi), s.shape));
  const out = tf.tidy(() => fn(...inputs));
  const list = Array.isArray(out) ? out : [out];
  const result = { shapes: list.map((t) => t.shape), values: list.map((t) => t.dataSync() as Float32Array) };
  tf.dispose([...inputs, ...list]);
  return result;
}

/**
 * Runs `fn` on the cpu backend and on native with the same random inputs, and asserts equal
 * shapes and values within TOLERANCE. With `grad`, also compares the gradients of sum(fn(...) * w)
 * for a random w with respect to every input.
 */
export async function assertParity(label: string, specs: InputSpec[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor, options: { grad?: boolean; seed?: number } = {}): Promise<void> {
  const seed = options.seed ?? 1;
  const forward = async (backend: string) => runOn(backend, specs, seed, fn);
  const check = (what: string, a: { shapes: number[][]; values: Float32Array[] }, e: typeof a) => {
    assert.deepEqual(a.shapes, e.shapes, `${label} ${what}: shape`);
    a.values.forEach((v, i) => {
      const err = maxRelError(v, e.values[i]);
      assert.ok(err <= TOLERANCE, `${label} ${what}[${i}]: max relative error ${err.toExponential(2)} > ${TOLERANCE}`);
    });
  };
  check('forward', await forward('native'), await forward('cpu'));
  if (!options.grad) return;
  const withGrads = async (backend: string) => runOn(backend, specs, seed, (...xs) => {
    const probe = fn(...xs);
    const w = tf.tensor(randomValues(probe.size, seed + 99), probe.shape);
    return tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(fn(...ys), w)))(xs);
  });
  check('gradient', await withGrads('native'), await withGrads('cpu'));
}
