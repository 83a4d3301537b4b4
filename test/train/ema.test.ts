import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import { VariableStore } from '../../src/variables/store.js';
import { exponentialDecay } from '../../src/train/config.js';
import { backendsUnderTest } from '../helpers/backends.js';

// The same formulas on the plain TensorFlow.js path (cpu) and the fused in-place path (native).
const backends = await backendsUnderTest();
await tf.setBackend('cpu');

for (const backend of backends) test(`${backend}: the book's EMA example: [0,0] → [5,4.5] → [100,5.454999] → [100,6.400448]`, async () => {
  await tf.setBackend(backend);
  const store = new VariableStore();
  const entry = store.create('v1', [], {});
  const ema = new ExponentialMovingAverage(0.99);
  ema.createShadows([entry]);
  const read = () => [entry.variable.dataSync()[0], ema.shadowOf(entry).dataSync()[0]];
  assert.deepEqual(read(), [0, 0]);
  entry.variable.assign(tf.scalar(5));
  ema.apply([entry], 0);
  assert.deepEqual(read().map((x) => Number(x.toFixed(6))), [5, 4.5]);
  entry.variable.assign(tf.scalar(100));
  ema.apply([entry], 10000);
  assert.deepEqual(read().map((x) => Number(x.toFixed(6))), [100, 5.454999]);
  ema.apply([entry], 10000);
  assert.deepEqual(read().map((x) => Number(x.toFixed(6))), [100, 6.400448]);
});

test('variablesToRestore maps shadow names to the variables (mnist_eval.py)', () => {
  const store = new VariableStore();
  const w = store.create('layer1/weights', [2], {});
  const step = store.create('step', [], { trainable: false });
  const map = ExponentialMovingAverage.variablesToRestore(store.all());
  assert.deepEqual(Object.keys(map), ['layer1/weights/ExponentialMovingAverage', 'step']);
  assert.equal(map['layer1/weights/ExponentialMovingAverage'], w.variable);
  assert.equal(map.step, step.variable);
});

test('exponential_decay: staircase every 550 steps by 0.99', () => {
  assert.equal(exponentialDecay(0.8, 0, 550, 0.99, true), 0.8);
  assert.equal(exponentialDecay(0.8, 549, 550, 0.99, true), 0.8);
  assert.ok(Math.abs(exponentialDecay(0.8, 550, 550, 0.99, true) - 0.792) < 1e-12);
  assert.ok(Math.abs(exponentialDecay(0.8, 29999, 550, 0.99, true) - 0.8 * 0.99 ** 54) < 1e-12);
  assert.ok(Math.abs(exponentialDecay(0.8, 275, 550, 0.99, false) - 0.8 * 0.99 ** 0.5) < 1e-12);
});
