import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nativeHint } from '../../src/backend/addon.js';
import { selectBackend } from '../../src/backend/select.js';
import { maxRelError, randomValues } from './parity-helpers.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const CASES: Array<{ x: [number, number, number, number]; filter: [number, number, number, number]; strides: number | [number, number]; pad: Pad }> = [
  { x: [2, 9, 9, 4], filter: [5, 5, 4, 6], strides: 1, pad: 'same' },
  { x: [3, 9, 7, 3], filter: [3, 2, 3, 5], strides: 2, pad: 'valid' },
  { x: [1, 10, 11, 4], filter: [3, 3, 4, 6], strides: [2, 3], pad: 'same' },
  { x: [2, 7, 6, 2], filter: [3, 3, 2, 3], strides: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
];

/** Gradients of sum(conv2d(x, f) · w) with respect to x and f, read back as arrays. */
async function convGrads(backend: 'cpu' | 'wasm', c: (typeof CASES)[number]): Promise<Float32Array[]> {
  await selectBackend(backend);
  const x = tf.tensor4d(randomValues(c.x.reduce((a, b) => a * b), 1), c.x);
  const f = tf.tensor4d(randomValues(c.filter.reduce((a, b) => a * b), 2), c.filter);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
    const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad);
    return y.mul(tf.tensor(randomValues(y.size, 3), y.shape)).sum();
  })([x, f]);
  const out = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
  tf.dispose([x, f, ...grads]);
  return out;
}

describe('wasm trains every model: kernels it lacks come from cpu or are built from its own', () => {
  for (const c of CASES) {
    it(`Conv2DBackpropFilter on wasm matches cpu: x=${c.x} filter=${c.filter} strides=${c.strides} pad=${JSON.stringify(c.pad)}`, async () => {
      const [cpuDx, cpuDf] = await convGrads('cpu', c);
      const before = tf.memory().numTensors;
      const [wasmDx, wasmDf] = await convGrads('wasm', c);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
      assert.ok(maxRelError(wasmDf, cpuDf) < 1e-4, 'filter gradient');
      assert.ok(maxRelError(wasmDx, cpuDx) < 1e-4, 'input gradient');
    });
  }

  it('a kernel wasm lacks runs through the cpu backend (UnsortedSegmentSum) and leaks nothing', async () => {
    await selectBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3, 4]);
    const ids = tf.tensor1d([0, 2, 0, 1], 'int32');
    const r = tf.unsortedSegmentSum(x, ids, 3);
    assert.deepEqual(Array.from(await r.data()), [4, 4, 2]);
    tf.dispose([x, ids, r]);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(tf.getBackend(), 'wasm');
  });
});

describe('the note when auto falls back from native says how to get native, for the kind of install', () => {
  it('a clone: npm run build:native', () => {
    assert.match(nativeHint(false), /npm run build:native/);
  });
  it('an installed package: the platform package, or the build script by its full path (npm run fails there)', () => {
    const hint = nativeHint(true);
    assert.match(hint, /npm install mnist-ts-linux-x64-gnu@\d+\.\d+\.\d+/);
    assert.match(hint, /node \/\S+\/scripts\/build-native\.mjs/);
    assert.doesNotMatch(hint, /npm run/);
  });
});
