import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Model } from '../../src/models/model.js';
import { getModelDefinition, modelNames } from '../../src/models/registry.js';
import { l2Regularizer } from '../../src/variables/regularizers.js';
import { GraphKeys, type VariableEntry } from '../../src/variables/store.js';

await tf.setBackend('cpu');

test("the MLP has the book's variable names, shapes and initialisers", () => {
  const model = Model.build(getModelDefinition('mlp'), { regularizer: l2Regularizer(1e-4) });
  const vars = model.store.all().map((v) => [v.name, v.shape.join('x')]);
  assert.deepEqual(vars, [
    ['layer1/weights', '784x500'],
    ['layer1/biases', '500'],
    ['layer2/weights', '500x10'],
    ['layer2/biases', '10'],
  ]);
  const w = model.store.get('layer1/weights')!.variable.dataSync();
  assert.ok(w.every((x) => Math.abs(x) <= 0.2));
  assert.ok(model.store.get('layer1/biases')!.variable.dataSync().every((x) => x === 0));
  // L2 applies to the weights only.
  assert.deepEqual(model.store.getCollection<VariableEntry>(GraphKeys.REGULARIZATION_LOSSES).map((v) => v.name), ['layer1/weights', 'layer2/weights']);
  model.dispose();
});

test('the MLP graph uses TensorFlow op and node names and outputs raw logits (no ReLU on the output)', () => {
  const model = Model.build(getModelDefinition('mlp'));
  const nodes = model.graph.nodes.map((n) => `${n.name}:${n.op}`);
  assert.deepEqual(nodes, [
    'x-input:Placeholder',
    'layer1/weights:Variable',
    'layer1/biases:Variable',
    'layer1/MatMul:MatMul',
    'layer1/add:Add',
    'layer1/Relu:Relu',
    'layer2/weights:Variable',
    'layer2/biases:Variable',
    'layer2/MatMul:MatMul',
    'layer2/add:Add',
  ]);
  assert.equal(model.output, 'layer2/add');
  // Logits can be negative: proof there is no ReLU at the end.
  const logits = tf.tidy(() => model.logits(tf.randomUniform([8, 784]) as tf.Tensor2D).dataSync());
  assert.ok(logits.some((x) => x < 0));
  model.dispose();
});

test('logits equal a hand-written forward pass', () => {
  const model = Model.build(getModelDefinition('mlp'), { seed: 5 });
  const v = (n: string) => model.store.get(n)!.variable;
  const x = tf.randomUniform([3, 784]) as tf.Tensor2D;
  const ours = model.logits(x).arraySync();
  const ref = tf
    .add(tf.matMul(tf.relu(tf.add(tf.matMul(x, v('layer1/weights') as tf.Tensor2D), v('layer1/biases'))), v('layer2/weights') as tf.Tensor2D), v('layer2/biases'))
    .arraySync() as number[][];
  assert.deepEqual(ours, ref);
  model.dispose();
});

test('the registry lists the models and rejects unknown names', () => {
  assert.ok(modelNames().includes('mlp') && modelNames().includes('softmax'));
  assert.throws(() => getModelDefinition('nope'), /unknown model "nope"/);
});
