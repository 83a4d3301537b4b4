import * as tf from '@tensorflow/tfjs';
import { describe, it } from '../helpers/requirements.js';
import { assertParity, nativeOrSkip } from './parity-helpers.js';

const skip = nativeOrSkip();

describe('native MatMul / BatchMatMul / _FusedMatMul match cpu', { skip }, () => {
  const shapes: Array<[number, number, number]> = [[1, 1, 1], [1, 784, 500], [100, 784, 500], [7, 13, 5], [33, 1, 17], [50, 3136, 64]];
  for (const [m, k, n] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        it(`matMul ${m}x${k}x${n} transposeA=${ta} transposeB=${tb}`, async () => {
          await assertParity('matMul', [{ shape: ta ? [k, m] : [m, k] }, { shape: tb ? [n, k] : [k, n] }],
            (a, b) => tf.matMul(a, b, ta, tb), { grad: m * k * n < 5e6 });
        });
      }
    }
  }
  it('batched matMul with equal batches', async () => {
    await assertParity('batchMatMul', [{ shape: [2, 3, 4, 5] }, { shape: [2, 3, 5, 6] }], (a, b) => tf.matMul(a, b), { grad: true });
  });
  // Forward only: tfjs's own BatchMatMul gradient does not reduce broadcast batch dimensions.
  it('batched matMul broadcasting a single matrix', async () => {
    await assertParity('bcast A', [{ shape: [4, 5] }, { shape: [3, 5, 6] }], (a, b) => tf.matMul(a, b));
    await assertParity('bcast B', [{ shape: [3, 4, 5] }, { shape: [1, 6, 5] }], (a, b) => tf.matMul(a, b, false, true));
  });
  for (const activation of ['linear', 'relu'] as const) {
    it(`fused matMul with bias and ${activation}`, async () => {
      await assertParity(`fused ${activation}`, [{ shape: [9, 20] }, { shape: [20, 11] }, { shape: [11] }],
        (a, b, bias) => tf.fused.matMul({ a, b, bias, activation }), { grad: true });
      await assertParity(`fused ${activation} transposed`, [{ shape: [20, 9] }, { shape: [11, 20] }, { shape: [11] }],
        (a, b, bias) => tf.fused.matMul({ a, b, bias, activation, transposeA: true, transposeB: true }), { grad: true });
    });
  }
});
