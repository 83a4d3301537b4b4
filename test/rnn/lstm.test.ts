import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BasicLSTMCell, dynamicRnn, MultiRNNCell, type BuildContext } from '../../src/rnn/lstm.js';
import { fans, glorotUniformValues } from '../../src/rnn/initializers.js';
import { Random } from '../../src/util/random.js';
import { VariableStore } from '../../src/variables/store.js';

before(async () => {
  await tf.setBackend('cpu');
});

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** BasicLSTMCell in plain float64 JavaScript, straight from TensorFlow's formulas. kernel is row-major [in+units, 4u]. */
function referenceStep(kernel: ArrayLike<number>, bias: ArrayLike<number>, units: number, x: number[], c: number[], h: number[], forgetBias = 1): { c: number[]; h: number[] } {
  const z = [...x, ...h];
  const gate = (col: number) => z.reduce((s, zk, k) => s + zk * kernel[k * 4 * units + col], 0) + bias[col];
  const newC: number[] = [];
  const newH: number[] = [];
  for (let u = 0; u < units; u++) {
    const i = gate(u);
    const j = gate(units + u);
    const f = gate(2 * units + u);
    const o = gate(3 * units + u);
    newC[u] = c[u] * sigmoid(f + forgetBias) + sigmoid(i) * Math.tanh(j);
    newH[u] = Math.tanh(newC[u]) * sigmoid(o);
  }
  return { c: newC, h: newH };
}

/** A stacked LSTM over a sequence (one example) in float64: the top layer's last output. */
function referenceRnn(params: Array<{ kernel: number[]; bias: number[] }>, units: number[], xs: number[][]): number[] {
  const c = units.map((u) => new Array<number>(u).fill(0));
  const h = units.map((u) => new Array<number>(u).fill(0));
  for (const x of xs) {
    let input = x;
    params.forEach((p, k) => {
      const s = referenceStep(p.kernel, p.bias, units[k], input, c[k], h[k]);
      c[k] = s.c;
      h[k] = s.h;
      input = s.h;
    });
  }
  return h[h.length - 1];
}

function context(seed = 7): BuildContext {
  return { store: new VariableStore(seed), random: new Random(seed) };
}

describe('BasicLSTMCell', () => {
  it('computes one step as TensorFlow does (gate order i, j, f, o; forget bias 1 added inside)', () => {
    const ctx = context();
    const cell = new BasicLSTMCell(2);
    cell.build(ctx, 3);
    // Distinct values in every gate block so a wrong gate order changes the answer.
    const kernel = Array.from({ length: 5 * 8 }, (_, k) => Math.sin(k + 1) * 0.7);
    const bias = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8];
    cell.kernel!.assign(tf.tensor2d(kernel, [5, 8]));
    cell.bias!.assign(tf.tensor1d(bias));
    const x = [[0.5, -1, 2], [0.1, 0.2, -0.3]];
    const c = [[0.3, -0.7], [1.2, 0.1]];
    const h = [[-0.2, 0.4], [0.6, -0.5]];
    const [out, state] = tf.tidy(() => {
      const [o, s] = cell.call(tf.tensor2d(x), { c: tf.tensor2d(c), h: tf.tensor2d(h) });
      return [o.arraySync(), s.c.arraySync()];
    });
    for (let b = 0; b < 2; b++) {
      const expected = referenceStep(kernel, bias, 2, x[b], c[b], h[b]);
      for (let u = 0; u < 2; u++) {
        assert.ok(Math.abs(out[b][u] - expected.h[u]) < 1e-6, `h[${b}][${u}] ${out[b][u]} vs ${expected.h[u]}`);
        assert.ok(Math.abs(state[b][u] - expected.c[u]) < 1e-6, `c[${b}][${u}] ${state[b][u]} vs ${expected.c[u]}`);
      }
    }
    // A hand check of one unit with zero weights: c' = c·σ(0 + 1) + σ(0)·tanh(0) = c·σ(1).
    cell.kernel!.assign(tf.zeros([5, 8]));
    cell.bias!.assign(tf.zeros([8]));
    const zeroC = tf.tidy(() => cell.call(tf.tensor2d([[1, 2, 3]]), { c: tf.tensor2d([[2, -1]]), h: tf.zeros([1, 2]) })[1].c.arraySync());
    assert.ok(Math.abs(zeroC[0][0] - 2 * sigmoid(1)) < 1e-6);
    assert.ok(Math.abs(zeroC[0][1] + sigmoid(1)) < 1e-6);
    ctx.store.dispose();
  });

  it('names and shapes its variables as TensorFlow does, kernel glorot-uniform, bias zero', () => {
    const ctx = context();
    const cell = new MultiRNNCell([new BasicLSTMCell(30), new BasicLSTMCell(30)]);
    ctx.store.variableScope('rnn', () => cell.build(ctx, 10));
    assert.deepEqual(
      ctx.store.all().map((e) => [e.name, e.shape]),
      [
        ['rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel', [40, 120]],
        ['rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias', [120]],
        ['rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel', [60, 120]],
        ['rnn/multi_rnn_cell/cell_1/basic_lstm_cell/bias', [120]],
      ],
    );
    const k = Array.from(cell.cells[0].kernel!.dataSync());
    const limit = Math.sqrt(6 / (40 + 120));
    assert.ok(k.every((v) => Math.abs(v) <= limit));
    const std = Math.sqrt(k.reduce((s, v) => s + v * v, 0) / k.length);
    assert.ok(Math.abs(std - limit / Math.sqrt(3)) < 0.01, `std ${std}`);
    assert.ok(cell.cells[0].bias!.dataSync().every((v) => v === 0));
    ctx.store.dispose();
  });

  it('computes fans like TensorFlow', () => {
    assert.deepEqual(fans([40, 120]), [40, 120]);
    assert.deepEqual(fans([5, 5, 3, 16]), [75, 400]);
    assert.deepEqual(fans([7]), [7, 7]);
    const v = glorotUniformValues([2, 4], new Random(1));
    assert.equal(v.length, 8);
    assert.ok(v.every((x) => Math.abs(x) <= 1));
  });
});

describe('MultiRNNCell unrolled by dynamicRnn', () => {
  function setup(depth: number, units: number[]) {
    const ctx = context(3);
    const cell = new MultiRNNCell(units.map((u) => new BasicLSTMCell(u)));
    ctx.store.variableScope('rnn', () => cell.build(ctx, depth));
    // Larger biases than zero so every path matters.
    cell.cells.forEach((c, k) => c.bias!.assign(tf.tensor1d(Array.from({ length: 4 * c.units }, (_, i) => 0.3 * Math.cos(i + k)))));
    const params = () => cell.cells.map((c) => ({ kernel: Array.from(c.kernel!.dataSync()), bias: Array.from(c.bias!.dataSync()) }));
    return { ctx, cell, params };
  }

  it('matches a plain reference over several time steps and two layers', () => {
    const { ctx, cell, params } = setup(2, [3, 4]);
    const batch = [
      [[0.1, 0.2], [0.3, -0.1], [-0.5, 0.4], [0.9, 0.0]],
      [[-0.3, 0.8], [0.2, 0.2], [0.0, -0.7], [0.4, 0.1]],
    ];
    const { last, all } = tf.tidy(() => {
      const r = dynamicRnn(cell, tf.tensor3d(batch), ctx);
      return { last: r.lastOutput.arraySync(), all: tf.stack(r.outputs(), 1).arraySync() as number[][][] };
    });
    const p = params();
    batch.forEach((xs, b) => {
      const expected = referenceRnn(p, [3, 4], xs);
      expected.forEach((v, u) => assert.ok(Math.abs(last[b][u] - v) < 1e-5, `b${b} u${u}: ${last[b][u]} vs ${v}`));
      // outputs[:, t] is the top layer's h after t+1 steps.
      const afterTwo = referenceRnn(p, [3, 4], xs.slice(0, 2));
      afterTwo.forEach((v, u) => assert.ok(Math.abs(all[b][1][u] - v) < 1e-5));
    });
    ctx.store.dispose();
  });

  it('back-propagates through time: gradients agree with finite differences', () => {
    const { ctx, cell, params } = setup(1, [3, 2]);
    const xs = [[0.5], [-0.2], [0.8], [0.1], [-0.6]];
    const readout = [1.5, -2];
    const vars = cell.variables();
    const { grads } = tf.variableGrads(() => {
      const { lastOutput } = dynamicRnn(cell, tf.tensor3d([xs]), ctx);
      return tf.sum(tf.mul(lastOutput, tf.tensor2d([readout]))) as tf.Scalar;
    }, vars);
    const p = params();
    const loss = (ps: typeof p) => referenceRnn(ps, [3, 2], xs).reduce((s, v, u) => s + v * readout[u], 0);
    const eps = 1e-6;
    let checked = 0;
    let largest = 0;
    p.forEach((layer, k) => {
      for (const which of ['kernel', 'bias'] as const) {
        const analytic = grads[(which === 'kernel' ? cell.cells[k].kernel! : cell.cells[k].bias!).name].dataSync();
        for (let i = 0; i < layer[which].length; i++) {
          const plus = structuredClone(p);
          const minus = structuredClone(p);
          plus[k][which][i] += eps;
          minus[k][which][i] -= eps;
          const numeric = (loss(plus) - loss(minus)) / (2 * eps);
          largest = Math.max(largest, Math.abs(numeric));
          assert.ok(Math.abs(analytic[i] - numeric) < 1e-4, `layer ${k} ${which}[${i}]: autodiff ${analytic[i]} vs numeric ${numeric}`);
          checked++;
        }
      }
    });
    assert.equal(checked, 4 * 12 + 12 + 5 * 8 + 8); // kernels [1+3, 12], [3+2, 8] and their biases
    assert.ok(largest > 0.01, 'gradients are not all ~0');
    Object.values(grads).forEach((g) => g.dispose());
    ctx.store.dispose();
  });
});
