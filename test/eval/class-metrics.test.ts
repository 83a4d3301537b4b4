import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classMetrics, formatClassMetrics } from '../../src/eval/class-metrics.js';

test('per-class precision, recall and F1 from a confusion matrix (rows true, columns predicted)', () => {
  // 3 classes: class 0: 8 right, 2 taken for 1; class 1: 5 right, 1 taken for 0; class 2: never seen, once predicted.
  const m = [[8, 2, 0], [1, 5, 1], [0, 0, 0]];
  const [c0, c1, c2] = classMetrics(m);
  assert.deepEqual([c0.support, c1.support, c2.support], [10, 7, 0]);
  assert.equal(c0.precision, 8 / 9);
  assert.equal(c0.recall, 8 / 10);
  assert.ok(Math.abs(c0.f1 - (2 * (8 / 9) * 0.8) / (8 / 9 + 0.8)) < 1e-12);
  assert.equal(c1.precision, 5 / 7);
  assert.equal(c1.recall, 5 / 7);
  assert.deepEqual([c2.precision, c2.recall, c2.f1], [0, 0, 0]);
  const text = formatClassMetrics(classMetrics(m)).split('\n');
  assert.match(text[0], /^class +precision +recall +F1 +support$/);
  assert.match(text[1], /^0 +0\.8889 +0\.8000 +0\.8421 +10$/);
  assert.match(text.at(-1)!, /^macro /);
});
