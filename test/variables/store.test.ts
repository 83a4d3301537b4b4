import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { VariableStore, GraphKeys, type VariableEntry } from '../../src/variables/store.js';
import { constant, initialValues, truncatedNormal } from '../../src/variables/initializers.js';
import { l1Regularizer, l2Regularizer, regularizationLoss } from '../../src/variables/regularizers.js';
import { Random } from '../../src/util/random.js';

await tf.setBackend('cpu');

test('seed 000: get_variable creates in a scope, reuse=true fetches the same variable', () => {
  const s = new VariableStore();
  const v = s.variableScope('foo', () => s.getVariable('v', [1], { initializer: constant(1) }));
  assert.throws(() => s.variableScope('foo', () => s.getVariable('v', [1])), /Variable foo\/v already exists, disallowed/);
  const v1 = s.variableScope('foo', { reuse: true }, () => s.getVariable('v', [1]));
  assert.equal(v1, v); // print v == v1 → True
  assert.throws(() => s.variableScope('bar', { reuse: true }, () => s.getVariable('v', [1])), /Variable bar\/v does not exist/);
  assert.deepEqual([...v.dataSync()], [1]);
});

test('seed 000: reuse is inherited by inner scopes and restored on exit', () => {
  const s = new VariableStore();
  const seen: unknown[] = [];
  s.variableScope('root', () => {
    seen.push(s.reuse);
    s.variableScope('foo', { reuse: true }, () => {
      seen.push(s.reuse);
      s.variableScope('bar', () => seen.push(s.reuse));
      s.variableScope('baz', { reuse: false }, () => seen.push(s.reuse));
    });
    seen.push(s.reuse);
  });
  assert.deepEqual(seen, [false, true, true, true, false]);
});

test('seed 000: names get every enclosing scope as prefix', () => {
  const s = new VariableStore();
  const name = (v: tf.Variable) => s.all().find((e) => e.variable === v)!.name;
  const v1 = s.getVariable('v', [1]);
  assert.equal(name(v1), 'v');
  s.variableScope('foo', () => s.getVariable('v', [1]));
  const v2 = s.variableScope('foo', { reuse: true }, () => s.getVariable('v', [1]));
  assert.equal(name(v2), 'foo/v');
  const v3 = s.variableScope('foo', () => s.variableScope('bar', () => s.getVariable('v', [1])));
  assert.equal(name(v3), 'foo/bar/v');
  assert.equal(name(s.getVariable('v1', [1])), 'v1');
  assert.throws(() => s.variableScope('foo', { reuse: true }, () => s.getVariable('v', [2])), /specified shape \[2\] and found shape \[1\]/);
});

test('auto reuse creates once, then fetches; collections track variables', () => {
  const s = new VariableStore();
  const a = s.variableScope('x', { reuse: 'auto' }, () => s.getVariable('w', [2], { regularizer: l2Regularizer(0.1) }));
  const b = s.variableScope('x', { reuse: 'auto' }, () => s.getVariable('w', [2]));
  assert.equal(a, b);
  s.getVariable('frozen', [1], { trainable: false });
  assert.deepEqual(s.getCollection<VariableEntry>(GraphKeys.TRAINABLE_VARIABLES).map((e) => e.name), ['x/w']);
  assert.deepEqual(s.getCollection<VariableEntry>(GraphKeys.GLOBAL_VARIABLES).map((e) => e.name), ['x/w', 'frozen']);
  assert.deepEqual(s.getCollection<VariableEntry>(GraphKeys.REGULARIZATION_LOSSES).map((e) => e.name), ['x/w']);
});

test('book example: l1_regularizer(0.5) = 5.0 and l2_regularizer(0.5) = 7.5 on [[1,-2],[-3,4]]', () => {
  const w = tf.tensor2d([[1, -2], [-3, 4]]);
  assert.equal(regularizationLoss(l1Regularizer(0.5), w).dataSync()[0], 5);
  assert.equal(regularizationLoss(l2Regularizer(0.5), w).dataSync()[0], 7.5);
});

test('regularizer gradients: l2 gives λ·w, l1 gives λ·sign(w), also scaled by the loss above them', () => {
  const w = tf.variable(tf.tensor2d([[1, -2], [-3, 4]]));
  const l2 = tf.variableGrads(() => tf.mul(3, regularizationLoss(l2Regularizer(0.5), w)) as tf.Scalar, [w]);
  assert.equal(l2.value.dataSync()[0], 22.5);
  assert.deepEqual(Array.from(l2.grads[w.name].dataSync()), [1.5, -3, -4.5, 6]);
  const l1 = tf.variableGrads(() => regularizationLoss(l1Regularizer(0.5), w), [w]);
  assert.deepEqual(Array.from(l1.grads[w.name].dataSync()), [0.5, -0.5, -0.5, 0.5]);
  tf.dispose([w, l2.value, l2.grads[w.name], l1.value, l1.grads[w.name]]);
});

test('truncated normal stays within two standard deviations and has the right spread', () => {
  const values = initialValues(truncatedNormal(0.1), 20000, new Random(3));
  assert.ok(values.every((v) => Math.abs(v) <= 0.2));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  assert.ok(Math.abs(mean) < 0.003, `mean ${mean}`);
  // A normal truncated at ±2σ has standard deviation ≈ 0.88σ.
  assert.ok(Math.abs(std - 0.088) < 0.003, `std ${std}`);
});
