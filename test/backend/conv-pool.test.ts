import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadAddon } from '../../src/backend/addon.js';
import { assertParity, nativeOrSkip } from './parity-helpers.js';

const skip = nativeOrSkip();

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
}

const CONV_CASES: ConvCase[] = [
  { x: [1, 28, 28, 1], filter: [5, 5, 1, 32], strides: 1, pad: 'same' },
  { x: [1, 9, 9, 32], filter: [5, 5, 32, 64], strides: 1, pad: 'same' },
  { x: [3, 9, 7, 3], filter: [3, 2, 3, 5], strides: 2, pad: 'valid' },
  { x: [1, 10, 11, 4], filter: [3, 3, 4, 6], strides: [2, 3], pad: 'same' },
  { x: [2, 8, 9, 3], filter: [1, 4, 3, 7], strides: [1, 2], pad: 'valid' },
  { x: [2, 7, 6, 2], filter: [3, 3, 2, 3], strides: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [1, 5, 5, 1], filter: [5, 5, 1, 1], strides: 1, pad: 'valid' },
];

describe('native Conv2D and its gradients match cpu', { skip }, () => {
  for (const c of CONV_CASES) {
    it(`conv2d x=${c.x} filter=${c.filter} strides=${c.strides} pad=${JSON.stringify(c.pad)}`, async () => {
      await assertParity('conv2d', [{ shape: c.x }, { shape: c.filter }],
        (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), { grad: true });
    });
  }
  it('conv2d with dilation (forward; tfjs has no dilated gradient)', async () => {
    await assertParity('dilated', [{ shape: [2, 11, 10, 3] }, { shape: [3, 2, 3, 4] }],
      (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NHWC', [2, 3]));
  });
  for (const activation of ['linear', 'relu'] as const) {
    it(`fused conv2d with bias and ${activation}`, async () => {
      await assertParity('fused conv', [{ shape: [2, 12, 12, 3] }, { shape: [5, 5, 3, 8] }, { shape: [8] }],
        (x, filter, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'same', bias, activation }),
        { grad: true });
    });
  }
});

// Large convolutions run as two half-batches, one per thread, when two threads are allowed; the
// test machine is often busy (the backend then starts with one thread), so force two here.
describe('native Conv2D split into half-batches on two threads matches cpu', { skip }, () => {
  const addon = loadAddon().addon!;
  let threads = 1;
  before(() => {
    threads = addon.info().threads;
    addon.setThreads(2);
    assert.equal(addon.setConvSplit(true), true, 'split is on by default');
  });
  after(() => addon.setThreads(threads));
  const cases: ConvCase[] = [
    { x: [6, 28, 28, 1], filter: [5, 5, 1, 32], strides: 1, pad: 'same' },
    { x: [5, 12, 12, 16], filter: [3, 3, 16, 32], strides: 1, pad: 'same' },
    { x: [8, 21, 21, 16], filter: [3, 3, 16, 32], strides: 2, pad: 'valid' },
  ];
  for (const c of cases) {
    it(`conv2d x=${c.x} filter=${c.filter} strides=${c.strides} pad=${c.pad}, with gradients`, async () => {
      await assertParity('split conv', [{ shape: c.x }, { shape: c.filter }],
        (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), { grad: true });
    });
  }
  it('fused conv2d with bias and ReLU, odd batch', async () => {
    await assertParity('split fused conv', [{ shape: [5, 14, 14, 16] }, { shape: [5, 5, 16, 32] }, { shape: [32] }],
      (x, filter, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu' }));
  });
});

describe('native MaxPool and MaxPoolGrad match cpu', { skip }, () => {
  const cases: Array<{ x: [number, number, number, number]; size: number | [number, number]; strides: number | [number, number]; pad: 'same' | 'valid' }> = [
    { x: [1, 28, 28, 32], size: 2, strides: 2, pad: 'same' },
    { x: [2, 14, 14, 64], size: 2, strides: 2, pad: 'same' },
    { x: [2, 7, 7, 3], size: 3, strides: 2, pad: 'valid' },
    { x: [3, 7, 7, 3], size: 3, strides: 2, pad: 'same' },
    { x: [1, 5, 6, 2], size: [2, 3], strides: [1, 2], pad: 'same' },
    { x: [2, 9, 8, 20], size: [3, 1], strides: 1, pad: 'valid' },
  ];
  for (const c of cases) {
    it(`maxPool x=${c.x} size=${c.size} strides=${c.strides} ${c.pad}`, async () => {
      await assertParity('maxPool', [{ shape: c.x }], (x) => tf.maxPool(x as tf.Tensor4D, c.size, c.strides, c.pad), { grad: true });
    });
  }
});
