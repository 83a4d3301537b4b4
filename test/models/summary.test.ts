import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition, modelNames } from '../../src/models/registry.js';
import { formatSummary, summarize } from '../../src/models/summary.js';
import { runCli } from '../helpers/cli.js';

await selectBackend('cpu');
const summaryOf = (name: string) => {
  const model = Model.build(getModelDefinition(name));
  try {
    return summarize(model);
  } finally {
    model.dispose();
  }
};

test('the book MLP: layer1 784→500 and layer2 500→10, parameters and FLOPs counted by hand', () => {
  const s = summaryOf('mlp');
  const rows = Object.fromEntries(s.layers.map((l) => [l.name, l]));
  assert.deepEqual(rows.layer1.outputShape, [500]);
  assert.equal(rows.layer1.params, 784 * 500 + 500);
  assert.equal(rows.layer1.flops, 2 * 784 * 500 + 500 + 500); // MatMul, Add, Relu
  assert.deepEqual(rows.layer2.outputShape, [10]);
  assert.equal(rows.layer2.params, 500 * 10 + 10);
  assert.equal(s.totalParams, 397_510);
  assert.equal(s.flopsPerExample, 795_010);
});

test('the Deep MNIST CNN: shapes through both convolutions and pools, 3,274,634 parameters', () => {
  const s = summaryOf('deep-cnn');
  const shape = (name: string) => s.layers.find((l) => l.name === name)?.outputShape;
  assert.deepEqual([shape('conv1'), shape('pool1'), shape('conv2'), shape('pool2'), shape('fc1'), shape('fc2')], [[28, 28, 32], [14, 14, 32], [14, 14, 64], [7, 7, 64], [1024], [10]]);
  assert.equal(s.layers.find((l) => l.name === 'conv1')!.flops, 2 * 28 * 28 * 32 * 25 + 2 * 28 * 28 * 32);
  assert.equal(s.totalParams, 5 * 5 * 32 + 32 + 5 * 5 * 32 * 64 + 64 + 3136 * 1024 + 1024 + 1024 * 10 + 10);
});

test('every registry model summarises, its parameters adding up to its variables', () => {
  for (const name of modelNames()) {
    const s = summaryOf(name);
    assert.equal(s.layers.reduce((n, l) => n + l.params, 0), s.totalParams, name);
    assert.deepEqual(s.layers.at(-1)!.outputShape, [10], name);
    assert.match(formatSummary(s), /^Total params: [\d,]+ \(/m);
  }
});

test('mnist summary prints the table; --json the numbers; a missing model directory is one line', () => {
  const text = runCli(['summary', '--model', 'mlp']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^layer1 +MatMul\+Add\+Relu +\[\?, 500\] +392,500 +785,000$/m);
  const json = JSON.parse(runCli(['summary', '--model', 'lenet5', '--json']).stdout);
  assert.equal(json.model, 'lenet5');
  const missing = runCli(['summary', '--model-dir', '/nonexistent/dir']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: \/nonexistent\/dir: no such model directory/m);
});
