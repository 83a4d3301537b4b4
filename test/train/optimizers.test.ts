import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createOptimizer } from '../../src/train/optimizers.js';
import { VariableStore } from '../../src/variables/store.js';
import { constant } from '../../src/variables/initializers.js';
import { backendsUnderTest } from '../helpers/backends.js';

// The same formulas on the plain TensorFlow.js path (cpu) and the fused in-place path (native).
const backends = await backendsUnderTest();

function setup(init: number) {
  const store = new VariableStore();
  return [store.create('w', [1], { initializer: constant(init) })];
}

for (const backend of backends) {
test(`${backend}: gradient descent: w -= lr·g`, async () => {
  await tf.setBackend(backend);
  const vars = setup(1);
  createOptimizer('sgd', { momentum: 0 }).apply(vars, [tf.tensor1d([0.5])], 0.1);
  assert.ok(Math.abs(vars[0].variable.dataSync()[0] - 0.95) < 1e-7);
});

test(`${backend}: momentum keeps an accumulator named W/Momentum`, async () => {
  await tf.setBackend(backend);
  const vars = setup(1);
  const opt = createOptimizer('momentum', { momentum: 0.9 });
  opt.apply(vars, [tf.tensor1d([1])], 0.1); // accum 1, w 0.9
  opt.apply(vars, [tf.tensor1d([1])], 0.1); // accum 1.9, w 0.71
  assert.ok(Math.abs(vars[0].variable.dataSync()[0] - 0.71) < 1e-6);
  assert.deepEqual([...opt.slots().keys()], ['w/Momentum']);
  assert.ok(Math.abs(opt.slots().get('w/Momentum')!.dataSync()[0] - 1.9) < 1e-6);
});

test(`${backend}: adam follows TensorFlow's formula with beta powers`, async () => {
  await tf.setBackend(backend);
  const vars = setup(1);
  const opt = createOptimizer('adam', { momentum: 0 });
  const lr = 0.1;
  let w = 1, m = 0, v = 0, p1 = 0.9, p2 = 0.999;
  for (const g of [0.5, -0.25, 1]) {
    opt.apply(vars, [tf.tensor1d([g])], lr);
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    w -= ((lr * Math.sqrt(1 - p2)) / (1 - p1)) * (m / (Math.sqrt(v) + 1e-8));
    p1 *= 0.9;
    p2 *= 0.999;
  }
  assert.ok(Math.abs(vars[0].variable.dataSync()[0] - w) < 1e-5, `${vars[0].variable.dataSync()[0]} vs ${w}`);
  assert.deepEqual([...opt.slots().keys()].sort(), ['beta1_power', 'beta2_power', 'w/Adam', 'w/Adam_1']);
  assert.ok(Math.abs(opt.slots().get('beta1_power')!.dataSync()[0] - p1) < 1e-6);
});

test(`${backend}: adam with β = (0.7, 0.9) uses them in the moments and the beta powers`, async () => {
  await tf.setBackend(backend);
  const vars = setup(1);
  const opt = createOptimizer('adam', { momentum: 0, beta1: 0.7, beta2: 0.9 });
  const lr = 0.1;
  let w = 1, m = 0, v = 0, p1 = 0.7, p2 = 0.9;
  for (const g of [0.5, -0.25, 1]) {
    opt.apply(vars, [tf.tensor1d([g])], lr);
    m = 0.7 * m + 0.3 * g;
    v = 0.9 * v + 0.1 * g * g;
    w -= ((lr * Math.sqrt(1 - p2)) / (1 - p1)) * (m / (Math.sqrt(v) + 1e-8));
    p1 *= 0.7;
    p2 *= 0.9;
  }
  assert.ok(Math.abs(vars[0].variable.dataSync()[0] - w) < 1e-5, `${vars[0].variable.dataSync()[0]} vs ${w}`);
  assert.ok(Math.abs(opt.slots().get('beta2_power')!.dataSync()[0] - p2) < 1e-6);
});

test(`${backend}: adagrad (TensorFlow ApplyAdagrad): accum starts at 0.1, accum += g², w -= lr·g/sqrt(accum); slot W/Adagrad`, async () => {
  await tf.setBackend(backend);
  const store = new VariableStore();
  const vars = [store.create('w', [2], { initializer: constant(1) })];
  vars[0].variable.assign(tf.tensor1d([1, -2]));
  const opt = createOptimizer('adagrad');
  opt.createSlots(vars);
  assert.deepEqual([...opt.slots().keys()], ['w/Adagrad']);
  assert.deepEqual([...opt.slots().get('w/Adagrad')!.dataSync()], [Math.fround(0.1), Math.fround(0.1)]);
  opt.apply(vars, [tf.tensor1d([0.5, -1])], 0.1);
  const a = [0.1 + 0.25, 0.1 + 1];
  const expected = [1 - (0.1 * 0.5) / Math.sqrt(a[0]), -2 + 0.1 / Math.sqrt(a[1])];
  vars[0].variable.dataSync().forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < 1e-6, `${x} vs ${expected[i]}`));
  opt.slots().get('w/Adagrad')!.dataSync().forEach((x, i) => assert.ok(Math.abs(x - a[i]) < 1e-6));
  // A variable without a gradient is left alone.
  opt.apply(vars, [undefined as unknown as tf.Tensor], 0.1);
  vars[0].variable.dataSync().forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < 1e-6));
  opt.dispose();
});
}

for (const backend of backends) {
  for (const name of ['sgd', 'momentum', 'adam', 'adagrad'] as const) {
    test(`${backend}: ${name} with an L2 decay λ applies g + λ·w`, async () => {
      await tf.setBackend(backend);
      const store = new VariableStore();
      const folded = [store.create('a', [1000])];
      const explicit = [store.create('b', [1000])];
      for (const v of [...folded, ...explicit]) v.variable.assign(tf.linspace(-1, 1, 1000));
      const [withDecay, byHand] = [createOptimizer(name, { momentum: 0.9 }), createOptimizer(name, { momentum: 0.9 })];
      const lambda = 0.05;
      for (let step = 0; step < 3; step++) {
        const g = tf.sin(tf.linspace(step, step + 5, 1000));
        withDecay.apply(folded, [g], 0.1, [lambda]);
        byHand.apply(explicit, [tf.add(g, tf.mul(lambda, explicit[0].variable))], 0.1);
      }
      const [a, b] = [folded[0].variable.dataSync(), explicit[0].variable.dataSync()];
      const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
      assert.ok(worst < 1e-6, `max difference ${worst}`);
      assert.ok(Math.abs(a[0] - -1) > 0.01, 'the variable moved');
    });
  }
}
