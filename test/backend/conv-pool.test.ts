import * as tf from '@tensorflow/tfjs';
import { describe, it } from '../helpers/requirements.js';
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
