import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadMnist } from '../../src/data/mnist.js';
import { predictWithGraph } from '../../src/graph/predict-graph.js';
import { runCli } from '../helpers/cli.js';

const FROZEN = path.join(import.meta.dirname, '../fixtures/pb_softmax_mnist/frozen_model.pb');

test('mnist test --graph evaluates a TensorFlow-written frozen graph on the test images; bad names are one line', async () => {
  const r = runCli(['test', '--graph', FROZEN, '--limit', '1000', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { correct: number; count: number; accuracy: number; confusionMatrix: number[][] };
  const { test: split } = loadMnist({ limit: 1000 });
  const images = Array.from({ length: 1000 }, (_, i) => Float32Array.from(split.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255));
  const predictions = await predictWithGraph(FROZEN, images, { input: 'input', output: 'output:0' });
  const correct = predictions.filter((p, i) => p.digit === split.labels[i]).length;
  assert.equal(json.count, 1000);
  assert.equal(json.correct, correct);
  assert.ok(json.accuracy > 0.85, `accuracy ${json.accuracy}`);
  assert.equal(json.confusionMatrix.flat().reduce((a, b) => a + b, 0), 1000);
  const bad = runCli(['test', '--graph', FROZEN, '--limit', '10', '--input', 'nope']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^error: .*frozen_model\.pb: no placeholder named "nope" \(placeholders: input\)$/m);
});
