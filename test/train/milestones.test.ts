import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { MnistSplit } from '../../src/data/mnist.js';
import { BOOK_DEFAULTS } from '../../src/train/config.js';
import { formatMilestone, MilestoneTracker } from '../../src/train/milestones.js';
import { train } from '../../src/train/train.js';

test('each milestone is reported once, at the first accuracy that passes it; one measurement can pass several', () => {
  const t = new MilestoneTracker([0.9, 0.95, 0.99]);
  assert.deepEqual(t.observe(0.5, 10, 1), []);
  assert.deepEqual(t.observe(0.96, 20, 2).map((m) => [m.target, m.step, m.seconds]), [[0.9, 20, 2], [0.95, 20, 2]]);
  assert.deepEqual(t.observe(0.91, 30, 3), [], 'a dip does not report again');
  assert.deepEqual(t.observe(0.97, 40, 4), [], 'already passed');
  assert.deepEqual(t.observe(4950 / 5000, 50, 5).map((m) => m.target), [0.99], '0.99 exactly passes 99 %');
  assert.equal(t.reached.length, 3);
  assert.equal(formatMilestone(t.reached[2]), 'Validation accuracy ≥ 99 % (99 %) after 5.00 s of training, step 50.');
  assert.equal(formatMilestone({ target: 0.985, accuracy: 0.9862, step: 7, seconds: 1.234 }), 'Validation accuracy ≥ 98.5 % (98.62 %) after 1.23 s of training, step 7.');
});

test('train() measures validation every validateEvery steps and at the end, logs milestones and leaves validation time out', async () => {
  await tf.setBackend('cpu');
  const count = 50;
  const data: MnistSplit = {
    images: Uint8Array.from({ length: count * 784 }, (_, i) => (i * 37) % 256),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
  };
  const scripted = [0.5, 0.93, 0.96, 0.985];
  let measured = 0;
  const lines: string[] = [];
  const slowValidationMs = 150;
  const result = await train(
    {
      ...BOOK_DEFAULTS, model: 'softmax', modelDir: mkdtempSync(path.join(tmpdir(), 'mnist-milestones-')),
      steps: 7, batchSize: 10, checkpointEvery: 100, validateEvery: 2, logEvery: 100,
      validate: () => {
        measured++;
        const until = performance.now() + slowValidationMs;
        while (performance.now() < until);
        return scripted[measured - 1];
      },
    },
    data,
    { start() {}, step() {}, log: (line) => lines.push(line), stop() {} },
  );
  assert.equal(measured, 4, 'steps 2, 4, 6 and the end (7)');
  assert.deepEqual(result.milestones.map((m) => [m.target, m.step]), [[0.9, 4], [0.95, 6], [0.97, 7], [0.98, 7], [0.985, 7]]);
  assert.deepEqual(result.validation, { accuracy: 0.985, step: 7 });
  assert.equal(lines.filter((l) => l.startsWith('Validation accuracy ≥')).length, 5);
  assert.match(lines.join('\n'), /^Validation accuracy ≥ 90 % \(93 %\) after [\d.]+ s of training, step 4\.$/m);
  assert.ok(result.validationSeconds >= (4 * slowValidationMs) / 1000, `validation took ${result.validationSeconds} s`);
  // Three slow validations happened before the last milestone; none of their time counts as training.
  assert.ok(result.milestones.at(-1)!.seconds < result.seconds - 3 * (slowValidationMs / 1000), `${result.milestones.at(-1)!.seconds} s vs ${result.seconds} s`);
});

test('without validate, train() measures nothing and reports no milestones', async () => {
  await tf.setBackend('cpu');
  const data: MnistSplit = { images: new Uint8Array(20 * 784), labels: new Uint8Array(20), count: 20 };
  const result = await train(
    { ...BOOK_DEFAULTS, model: 'softmax', modelDir: mkdtempSync(path.join(tmpdir(), 'mnist-milestones-')), steps: 3, batchSize: 10, checkpointEvery: 1, logEvery: 100 },
    data,
    { start() {}, step() {}, log() {}, stop() {} },
  );
  assert.deepEqual(result.milestones, []);
  assert.equal(result.validation, undefined);
  assert.equal(result.validationSeconds, 0);
});
