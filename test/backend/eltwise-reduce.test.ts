import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { broadcastView } from '../../src/backend/kernels/eltwise.js';
import { assertParity, nativeOrSkip } from './parity-helpers.js';

const skip = nativeOrSkip();

const BINARY: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, maximum: tf.maximum, minimum: tf.minimum,
  squaredDifference: tf.squaredDifference,
};
const BROADCASTS: Array<[number[], number[]]> = [
  [[3, 4, 5], [3, 4, 5]], [[100, 500], [500]], [[3, 1, 5], [1, 4, 1]], [[], [6]], [[6], []],
  [[2, 3, 4, 5, 6], [3, 1, 5, 1]], [[2, 1, 4, 1, 6], [2, 3, 1, 5, 1]], [[1], [1]], [[400, 1000], [400, 1000]],
];

describe('broadcastView collapses broadcast loops', () => {
  it('merges contiguous dimensions and marks broadcast strides with 0', () => {
    assert.deepEqual(broadcastView([3, 4, 5], [3, 4, 5], [3, 4, 5]), { dims: [1, 1, 1, 60], stridesA: [0, 0, 0, 1], stridesB: [0, 0, 0, 1] });
    assert.deepEqual(broadcastView([100, 500], [500], [100, 500]), { dims: [1, 1, 100, 500], stridesA: [0, 0, 500, 1], stridesB: [0, 0, 0, 1] });
    assert.deepEqual(broadcastView([], [6], [6]), { dims: [1, 1, 1, 6], stridesA: [0, 0, 0, 0], stridesB: [0, 0, 0, 1] });
    assert.equal(broadcastView([2, 1, 2, 1, 2], [1, 2, 1, 2, 1], [2, 2, 2, 2, 2]), null);
  });
});

describe('native element-wise kernels match cpu', { skip }, () => {
  for (const [name, op] of Object.entries(BINARY)) {
    for (const [sa, sb] of BROADCASTS) {
      it(`${name} ${JSON.stringify(sa)} with ${JSON.stringify(sb)}`, async () => {
        const positive = name === 'div' ? { lo: 0.5, hi: 2 } : {};
        // tfjs's own Maximum/Minimum/SquaredDifference gradients do not reduce broadcast axes.
        const gradOk = sa.join() === sb.join() || ['add', 'sub', 'mul', 'div'].includes(name);
        await assertParity(name, [{ shape: sa }, { shape: sb, ...positive }], op, { grad: gradOk });
      });
    }
  }
  const UNARY: Array<[string, (x: tf.Tensor) => tf.Tensor, number, number]> = [
    ['relu', tf.relu, -1, 1], ['relu6', tf.relu6, -8, 8], ['sqrt', tf.sqrt, 0.1, 4], ['rsqrt', tf.rsqrt, 0.1, 4],
    ['square', tf.square, -2, 2], ['exp', tf.exp, -3, 3], ['log', tf.log, 0.1, 5], ['neg', tf.neg, -1, 1],
    ['abs', tf.abs, -1, 1], ['sigmoid', tf.sigmoid, -5, 5], ['tanh', tf.tanh, -3, 3], ['reciprocal', tf.reciprocal, 0.5, 3],
    ['step', (x) => tf.step(x, 0.3), -1, 1], ['floor', tf.floor, -3, 3],
  ];
  for (const [name, op, lo, hi] of UNARY) {
    for (const shape of [[1], [7, 13], [200, 1000]]) {
      it(`${name} ${JSON.stringify(shape)}`, async () => {
        await assertParity(name, [{ shape, lo, hi }], op, { grad: true });
      });
    }
  }
  it('addN of three tensors', async () => {
    await assertParity('addN', [{ shape: [30, 40] }, { shape: [30, 40] }, { shape: [30, 40] }], (a, b, c) => tf.addN([a, b, c]), { grad: true });
  });
});

describe('native reductions and softmax match cpu', { skip }, () => {
  const REDUCE: Record<string, (x: tf.Tensor, axis: number | number[], keep: boolean) => tf.Tensor> = {
    sum: tf.sum, mean: tf.mean, max: tf.max, min: tf.min,
  };
  for (const [name, op] of Object.entries(REDUCE)) {
    for (const axis of [0, 1, 2, -1, [0, 1], [1, 2], [0, 2], [0, 1, 2]]) {
      for (const keep of [false, true]) {
        it(`${name} over ${JSON.stringify(axis)} keepDims=${keep}`, async () => {
          await assertParity(name, [{ shape: [4, 5, 6] }], (x) => op(x, axis, keep), { grad: true });
        });
      }
    }
    it(`${name} of a large column block (bias gradient shape)`, async () => {
      await assertParity(name, [{ shape: [1000, 300] }], (x) => op(x, 0, false), { grad: true });
    });
  }
  for (const shape of [[7, 10], [3, 4, 5], [1, 1], [100, 10]]) {
    it(`softmax ${JSON.stringify(shape)}`, async () => {
      await assertParity('softmax', [{ shape, lo: -5, hi: 5 }], (x) => tf.softmax(x), { grad: true });
    });
  }
  it('softmax cross-entropy loss and its gradient', async () => {
    await assertParity('xent', [{ shape: [100, 10], lo: 0, hi: 1 }, { shape: [100, 10], lo: -4, hi: 4 }],
      (labels, logits) => tf.losses.softmaxCrossEntropy(labels, logits), { grad: true });
  });
});

describe('ReluBiasGrad (ReLU gradient and bias gradient in one pass)', { skip }, () => {
  for (const shape of [[1, 1], [7, 13], [100, 500], [50, 28, 28, 32], [3, 5, 5, 64]]) {
    it(`matches where(y > 0, dy, 0) and its sum over all but the last axis, ${JSON.stringify(shape)}`, async () => {
      await tf.setBackend('native');
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 5);
      const y = tf.relu(tf.randomNormal(shape, 0, 1, 'float32', 6));
      const [dx, db] = tf.engine().runKernel('ReluBiasGrad', { dy, y }) as unknown as tf.Tensor[];
      const [dxValues, dbValues, dyValues, yValues] = [dx.dataSync(), db.dataSync(), dy.dataSync(), y.dataSync()];
      const channels = shape[shape.length - 1];
      const expectedDb = new Float64Array(channels);
      for (let i = 0; i < dyValues.length; i++) {
        const expected = yValues[i] > 0 ? dyValues[i] : 0;
        assert.equal(dxValues[i], expected, `dx[${i}]`);
        expectedDb[i % channels] += expected;
      }
      assert.deepEqual(db.shape, [channels]);
      for (let c = 0; c < channels; c++) assert.ok(Math.abs(dbValues[c] - expectedDb[c]) <= 1e-4 * Math.max(1, Math.abs(expectedDb[c])), `db[${c}] ${dbValues[c]} vs ${expectedDb[c]}`);
      tf.dispose([dy, y, dx, db]);
    });
  }
});
