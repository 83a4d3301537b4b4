import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BatchIterator } from '../../src/data/batches.js';
import { loadMnist, sliceSplit } from '../../src/data/mnist.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { BOOK_DEFAULTS, exponentialDecay } from '../../src/train/config.js';
import { sparseSoftmaxCrossEntropy } from '../../src/train/loss.js';
import { createOptimizer } from '../../src/train/optimizers.js';
import { nativeSkip } from '../helpers/backends.js';
import { fastestBackend } from './backend-for-tests.js';

const backend = await fastestBackend();
const mnist = loadMnist({ limit: 2000 });
const trainSlice = sliceSplit(mnist.train, 0, 1000);
const testSlice = sliceSplit(mnist.test, 0, 500);

/** Each model's own optimizer and learning rate, on a small slice; returns test-slice accuracy. */
function quickTrain(name: string, steps: number, batchSize: number, overrides: { learningRate?: number } = {}): number {
  const definition = getModelDefinition(name);
  const config = { ...BOOK_DEFAULTS, ...definition.defaults, ...overrides };
  const model = Model.build(definition, { seed: 1 });
  const trainable = model.store.trainable();
  const optimizer = createOptimizer(config.optimizer, { momentum: config.momentum });
  optimizer.createSlots(trainable);
  const batches = new BatchIterator(trainSlice, batchSize, 1);
  for (let step = 0; step < steps; step++) {
    const batch = batches.next();
    const lr = exponentialDecay(config.learningRate, step, trainSlice.count / batchSize, config.decayRate, config.staircase);
    tf.tidy(() => {
      const xs = tf.tensor2d(batch.images, [batchSize, 784]);
      const ys = tf.tensor1d(batch.labels, 'int32');
      const { grads } = tf.variableGrads(() => sparseSoftmaxCrossEntropy(model.logits(xs, true), ys), trainable.map((v) => v.variable));
      optimizer.apply(trainable, trainable.map((v) => grads[v.variable.name]), lr);
    });
  }
  const { accuracy } = evaluate(model, testSlice, 250);
  optimizer.dispose();
  model.dispose();
  return accuracy;
}

// Chance is 10%. On the cpu backend a CNN step takes seconds: these need the native one (a missing addon fails the run unless MNIST_ALLOW_NO_NATIVE=1).
const skip = backend === 'native' ? false : await nativeSkip();

test('lenet5 learns: 300 steps of 20 on 1,000 digits → > 80% on 500 test digits', { skip }, () => {
  const accuracy = quickTrain('lenet5', 300, 20);
  assert.ok(accuracy > 0.8, `accuracy ${accuracy}`);
});

test('deep-cnn learns with its tutorial settings (Adam 1e-4): 200 steps of 20 → > 80%', { skip }, () => {
  const accuracy = quickTrain('deep-cnn', 200, 20);
  assert.ok(accuracy > 0.8, `accuracy ${accuracy}`);
});

test('vgg-cnn learns with its Adam 1e-3 recipe: 150 steps of 20 → > 80%', { skip }, () => {
  const accuracy = quickTrain('vgg-cnn', 150, 20);
  assert.ok(accuracy > 0.8, `accuracy ${accuracy}`);
});

test('book-cnn learns at the book CNN rate 0.01: 200 steps of 20 → > 80%', { skip }, () => {
  const accuracy = quickTrain('book-cnn', 200, 20);
  assert.ok(accuracy > 0.8, `accuracy ${accuracy}`);
});

test("book-cnn at the MLP's learning rate 0.8 diverges to about chance (the seed's ≈11%)", { skip }, () => {
  const accuracy = quickTrain('book-cnn', 100, 20, { learningRate: 0.8 });
  assert.ok(accuracy < 0.25, `accuracy ${accuracy}`);
});
