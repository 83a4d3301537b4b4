import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BatchIterator } from '../../src/data/batches.js';
import { loadMnist, sliceSplit } from '../../src/data/mnist.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { decodeGraphDef, encodeGraphDef } from '../../src/formats/graphdef.js';
import { freezeModel } from '../../src/graph/freeze.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';
import { execute } from '../../src/models/execute.js';
import { concatLastAxis } from '../../src/models/concat.js';
import { INCEPTION_MINI_BOTTLENECK } from '../../src/models/inception.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition, modelNames } from '../../src/models/registry.js';
import { BOOK_DEFAULTS } from '../../src/train/config.js';
import { sparseSoftmaxCrossEntropy } from '../../src/train/loss.js';
import { createOptimizer } from '../../src/train/optimizers.js';
import { l2Regularizer } from '../../src/variables/regularizers.js';
import { GraphKeys, type VariableEntry } from '../../src/variables/store.js';
import { nativeSkip } from '../helpers/backends.js';
import { fastestBackend } from './backend-for-tests.js';

const backend = await fastestBackend();
const build = (seed = 1) => Model.build(getModelDefinition('inception-mini'), { seed, regularizer: l2Regularizer(1e-4) });

const branchVariables = (module: string, inC: number, c1: number, r3: number, c3: number, r5: number, c5: number, pp: number): Array<[string, string]> => [
  [`${module}/Branch_0/Conv2d_0a_1x1/weights`, `1x1x${inC}x${c1}`],
  [`${module}/Branch_0/Conv2d_0a_1x1/biases`, `${c1}`],
  [`${module}/Branch_1/Conv2d_0a_1x1/weights`, `1x1x${inC}x${r3}`],
  [`${module}/Branch_1/Conv2d_0a_1x1/biases`, `${r3}`],
  [`${module}/Branch_1/Conv2d_0b_3x3/weights`, `3x3x${r3}x${c3}`],
  [`${module}/Branch_1/Conv2d_0b_3x3/biases`, `${c3}`],
  [`${module}/Branch_2/Conv2d_0a_1x1/weights`, `1x1x${inC}x${r5}`],
  [`${module}/Branch_2/Conv2d_0a_1x1/biases`, `${r5}`],
  [`${module}/Branch_2/Conv2d_0b_5x5/weights`, `5x5x${r5}x${c5}`],
  [`${module}/Branch_2/Conv2d_0b_5x5/biases`, `${c5}`],
  [`${module}/Branch_3/Conv2d_0b_1x1/weights`, `1x1x${inC}x${pp}`],
  [`${module}/Branch_3/Conv2d_0b_1x1/biases`, `${pp}`],
];

test('inception-mini is registered', () => {
  assert.ok(modelNames().includes('inception-mini'));
});

test("inception-mini: slim-style variable names (Mixed_3a/Branch_1/Conv2d_0b_3x3/weights…) and shapes", () => {
  const model = build();
  const expected: Array<[string, string]> = [
    ['Conv2d_1a_3x3/weights', '3x3x1x16'],
    ['Conv2d_1a_3x3/biases', '16'],
    ...branchVariables('Mixed_3a', 16, 8, 8, 16, 4, 8, 8),
    ...branchVariables('Mixed_5a', 40, 16, 12, 24, 4, 8, 8),
    ['Logits/weights', '896x10'],
    ['Logits/biases', '10'],
  ];
  assert.deepEqual(model.store.all().map((v) => [v.name, v.shape.join('x')]), expected);
  const regularised = model.store.getCollection<VariableEntry>(GraphKeys.REGULARIZATION_LOSSES).map((v) => v.name);
  assert.deepEqual(regularised, ['Logits/weights']);
  model.dispose();
});

test('inception-mini: branches keep height and width (SAME, stride 1) and concatenate on channels', () => {
  const model = build();
  const expected: Record<string, number[]> = {
    'Conv2d_1a_3x3/Relu': [3, 28, 28, 16],
    'MaxPool_2a_2x2/MaxPool': [3, 14, 14, 16],
    'Mixed_3a/Branch_0/Conv2d_0a_1x1/Relu': [3, 14, 14, 8],
    'Mixed_3a/Branch_1/Conv2d_0b_3x3/Relu': [3, 14, 14, 16],
    'Mixed_3a/Branch_2/Conv2d_0b_5x5/Relu': [3, 14, 14, 8],
    'Mixed_3a/Branch_3/MaxPool_0a_3x3/MaxPool': [3, 14, 14, 16],
    'Mixed_3a/Branch_3/Conv2d_0b_1x1/Relu': [3, 14, 14, 8],
    'Mixed_3a/concat': [3, 14, 14, 40],
    'MaxPool_4a_2x2/MaxPool': [3, 7, 7, 40],
    'Mixed_5a/concat': [3, 7, 7, 56],
    'MaxPool_6a_2x2/MaxPool': [3, 4, 4, 56],
    [INCEPTION_MINI_BOTTLENECK]: [3, 896],
    'Logits/add': [3, 10],
  };
  const outputs = Object.keys(expected);
  const shapes = tf.tidy(() =>
    execute(model.graph, { 'x-input': tf.randomUniform([3, 784]) }, outputs, { variable: (n) => model.store.get(n)!.variable }).map((t) => t.shape),
  );
  assert.deepEqual(Object.fromEntries(outputs.map((o, i) => [o, shapes[i]])), expected);
  assert.equal(model.output, 'Logits/add');
  // The concat really is the branches side by side: its first 8 channels are Branch_0.
  const [branch0, mixed] = tf.tidy(() =>
    execute(model.graph, { 'x-input': tf.randomUniform([2, 784], 0, 1, 'float32', 5) }, ['Mixed_3a/Branch_0/Conv2d_0a_1x1/Relu', 'Mixed_3a/concat'], {
      variable: (n) => model.store.get(n)!.variable,
    }).map((t) => t.arraySync() as number[][][][]),
  );
  assert.deepEqual(mixed[1][4][9].slice(0, 8), branch0[1][4][9]);
  model.dispose();
});

test('inception-mini: the frozen graph (ConcatV2, MaxPool 3×3 stride 1) gives the same probabilities on TensorFlow.js', async () => {
  const model = build(3);
  const graph = decodeGraphDef(encodeGraphDef(freezeModel(model)), 'inception.pb');
  assert.ok(graph.node.some((n) => n.op === 'ConcatV2' && n.name === 'Mixed_5a/concat'));
  const frozen = FrozenGraph.load(graph, 'inception.pb');
  const x = tf.randomUniform([4, 784], 0, 1, 'float32', 7) as tf.Tensor2D;
  const [probs] = await frozen.run({ 'x-input': x }, ['probabilities:0']);
  const expected = tf.tidy(() => tf.softmax(model.logits(x)));
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(probs, expected))).dataSync()[0]);
  assert.ok(diff < 1e-5, `max difference ${diff}`);
  tf.dispose([x, probs, expected]);
  frozen.dispose();
  model.dispose();
});

test("concatLastAxis: same value and same gradients as tf.concat's own (SplitV)", () => {
  const xs = [tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 1), tf.randomNormal([2, 3, 3, 5], 0, 1, 'float32', 2), tf.randomNormal([2, 3, 3, 1], 0, 1, 'float32', 3)];
  const weights = tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 4);
  const loss = (concat: (t: tf.Tensor[]) => tf.Tensor) => (...t: tf.Tensor[]) => tf.sum(tf.mul(tf.square(concat(t)), weights));
  const ours = tf.grads(loss(concatLastAxis))(xs);
  const theirs = tf.grads(loss((t) => tf.concat(t, 3)))(xs);
  assert.deepEqual(concatLastAxis(xs).arraySync(), tf.concat(xs, 3).arraySync());
  ours.forEach((g, i) => {
    assert.deepEqual(g.shape, xs[i].shape);
    const diff = tf.max(tf.abs(tf.sub(g, theirs[i]))).dataSync()[0];
    assert.ok(diff < 1e-5, `input ${i}: gradient differs by ${diff}`);
  });
  tf.dispose([...xs, weights, ...ours, ...theirs]);
});

// On the cpu backend a CNN step takes seconds: these need the native one (a missing addon fails the run unless MNIST_ALLOW_NO_NATIVE=1).
const skip = backend === 'native' ? false : await nativeSkip();

test('inception-mini learns with its defaults (Adam 1e-3): 300 steps of 20 on 1,000 digits → > 80% on 500 test digits', { skip }, () => {
  const mnist = loadMnist({ limit: 2000 });
  const trainSlice = sliceSplit(mnist.train, 0, 1000);
  const testSlice = sliceSplit(mnist.test, 0, 500);
  const definition = getModelDefinition('inception-mini');
  const config = { ...BOOK_DEFAULTS, ...definition.defaults };
  const model = Model.build(definition, { seed: 1 });
  const trainable = model.store.trainable();
  const optimizer = createOptimizer(config.optimizer, { momentum: config.momentum });
  optimizer.createSlots(trainable);
  const batches = new BatchIterator(trainSlice, 20, 1);
  for (let step = 0; step < 300; step++) {
    const batch = batches.next();
    tf.tidy(() => {
      const xs = tf.tensor2d(batch.images, [20, 784]);
      const ys = tf.tensor1d(batch.labels, 'int32');
      const { grads } = tf.variableGrads(() => sparseSoftmaxCrossEntropy(model.logits(xs, true), ys), trainable.map((v) => v.variable));
      optimizer.apply(trainable, trainable.map((v) => grads[v.variable.name]), config.learningRate);
    });
  }
  const { accuracy } = evaluate(model, testSlice, 250);
  optimizer.dispose();
  model.dispose();
  console.log(`inception-mini: ${accuracy} after 300 steps`);
  assert.ok(accuracy > 0.8, `accuracy ${accuracy}`);
});
