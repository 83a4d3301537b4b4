import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/data/mnist.js';
import { execute } from '../../src/models/execute.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition, modelNames } from '../../src/models/registry.js';
import { sparseSoftmaxCrossEntropy } from '../../src/train/loss.js';
import { l2Regularizer } from '../../src/variables/regularizers.js';
import { GraphKeys, type VariableEntry } from '../../src/variables/store.js';
import { fastestBackend } from './backend-for-tests.js';

const backend = await fastestBackend();
const digits = loadMnist({ limit: 2 }).test;

const CNNS = ['book-cnn', 'lenet5', 'deep-cnn', 'vgg-cnn', 'fast-cnn'];
const WITHOUT_DROPOUT = ['lenet5', 'fast-cnn'];

const EXPECTED_VARIABLES: Record<string, Array<[string, string]>> = {
  'book-cnn': [
    ['layer1-conv1/weight', '5x5x1x32'],
    ['layer1-conv1/bias', '32'],
    ['layer3-conv2/weight', '5x5x32x64'],
    ['layer3-conv2/bias', '64'],
    ['layer5-fc1/weight', '3136x512'],
    ['layer5-fc1/biases', '512'],
    ['layer6-fc2/weight', '512x10'],
    ['layer6-fc2/biases', '10'],
  ],
  lenet5: [
    ['layer1-conv1/weight', '5x5x1x6'],
    ['layer1-conv1/bias', '6'],
    ['layer3-conv2/weight', '5x5x6x16'],
    ['layer3-conv2/bias', '16'],
    ['layer5-fc1/weight', '400x120'],
    ['layer5-fc1/biases', '120'],
    ['layer6-fc2/weight', '120x84'],
    ['layer6-fc2/biases', '84'],
    ['layer7-fc3/weight', '84x10'],
    ['layer7-fc3/biases', '10'],
  ],
  'deep-cnn': [
    ['conv1/weights', '5x5x1x32'],
    ['conv1/biases', '32'],
    ['conv2/weights', '5x5x32x64'],
    ['conv2/biases', '64'],
    ['fc1/weights', '3136x1024'],
    ['fc1/biases', '1024'],
    ['fc2/weights', '1024x10'],
    ['fc2/biases', '10'],
  ],
  'vgg-cnn': [
    ['conv1_1/weights', '3x3x1x32'],
    ['conv1_1/biases', '32'],
    ['conv1_2/weights', '3x3x32x32'],
    ['conv1_2/biases', '32'],
    ['conv2_1/weights', '3x3x32x64'],
    ['conv2_1/biases', '64'],
    ['conv2_2/weights', '3x3x64x64'],
    ['conv2_2/biases', '64'],
    ['fc1/weights', '3136x256'],
    ['fc1/biases', '256'],
    ['fc2/weights', '256x10'],
    ['fc2/biases', '10'],
  ],
  'fast-cnn': [
    ['conv1/weights', '5x5x1x24'],
    ['conv1/biases', '24'],
    ['conv2/weights', '3x3x24x32'],
    ['conv2/biases', '32'],
    ['fc1/weights', '800x256'],
    ['fc1/biases', '256'],
    ['fc2/weights', '256x10'],
    ['fc2/biases', '10'],
  ],
};

/** Activation shapes after each layer for a batch of 3, by graph node. */
const EXPECTED_SHAPES: Record<string, Record<string, number[]>> = {
  'book-cnn': {
    Reshape: [3, 28, 28, 1],
    'layer1-conv1/Relu': [3, 28, 28, 32],
    'layer2-pool1/MaxPool': [3, 14, 14, 32],
    'layer3-conv2/Relu': [3, 14, 14, 64],
    'layer4-pool2/MaxPool': [3, 7, 7, 64],
    Reshape_1: [3, 3136],
    'layer5-fc1/dropout': [3, 512],
    'layer6-fc2/add': [3, 10],
  },
  lenet5: {
    Pad: [3, 32, 32, 1],
    'layer1-conv1/Relu': [3, 28, 28, 6],
    'layer2-pool1/MaxPool': [3, 14, 14, 6],
    'layer3-conv2/Relu': [3, 10, 10, 16],
    'layer4-pool2/MaxPool': [3, 5, 5, 16],
    'layer5-fc1/Relu': [3, 120],
    'layer6-fc2/Relu': [3, 84],
    'layer7-fc3/add': [3, 10],
  },
  'deep-cnn': {
    'reshape/Reshape': [3, 28, 28, 1],
    'conv1/Relu': [3, 28, 28, 32],
    'pool1/MaxPool': [3, 14, 14, 32],
    'conv2/Relu': [3, 14, 14, 64],
    'pool2/MaxPool': [3, 7, 7, 64],
    'fc1/Relu': [3, 1024],
    'dropout/dropout': [3, 1024],
    'fc2/add': [3, 10],
  },
  'vgg-cnn': {
    Reshape: [3, 28, 28, 1],
    'conv1_1/Relu': [3, 28, 28, 32],
    'conv1_2/Relu': [3, 28, 28, 32],
    'pool1/MaxPool': [3, 14, 14, 32],
    'conv2_1/Relu': [3, 14, 14, 64],
    'conv2_2/Relu': [3, 14, 14, 64],
    'pool2/MaxPool': [3, 7, 7, 64],
    'fc1/Relu': [3, 256],
    'dropout/dropout': [3, 256],
    'fc2/add': [3, 10],
  },
  'fast-cnn': {
    Reshape: [3, 28, 28, 1],
    'conv1/Relu': [3, 24, 24, 24],
    'pool1/MaxPool': [3, 12, 12, 24],
    'conv2/Relu': [3, 10, 10, 32],
    'pool2/MaxPool': [3, 5, 5, 32],
    Reshape_1: [3, 800],
    'fc1/Relu': [3, 256],
    'fc2/add': [3, 10],
  },
};

const build = (name: string, seed = 1) => Model.build(getModelDefinition(name), { seed, regularizer: l2Regularizer(1e-4) });

test('the CNNs are registered', () => {
  for (const name of CNNS) assert.ok(modelNames().includes(name), name);
});

for (const name of CNNS) {
  test(`${name}: variable names and shapes`, () => {
    const model = build(name);
    assert.deepEqual(model.store.all().map((v) => [v.name, v.shape.join('x')]), EXPECTED_VARIABLES[name]);
    assert.ok(model.store.all().every((v) => v.trainable));
    model.dispose();
  });

  test(`${name}: activation shapes layer by layer, fed [n, 784] through x-input`, () => {
    const model = build(name);
    assert.equal(model.input, 'x-input');
    const outputs = Object.keys(EXPECTED_SHAPES[name]);
    const shapes = tf.tidy(() =>
      execute(model.graph, { 'x-input': tf.randomUniform([3, 784]) }, outputs, { variable: (n) => model.store.get(n)!.variable }).map((t) => t.shape),
    );
    assert.deepEqual(Object.fromEntries(outputs.map((o, i) => [o, shapes[i]])), EXPECTED_SHAPES[name]);
    assert.equal(model.output, outputs[outputs.length - 1]);
    model.dispose();
  });

  test(`${name}: L2 regularises the fully connected weights only`, () => {
    const model = build(name);
    const regularised = model.store.getCollection<VariableEntry>(GraphKeys.REGULARIZATION_LOSSES).map((v) => v.name);
    const fcWeights = model.store.all().filter((v) => v.shape.length === 2).map((v) => v.name);
    assert.deepEqual(regularised, fcWeights);
    assert.ok(regularised.length >= 2);
    model.dispose();
  });
}

test("book-cnn initialisers: truncated normal 0.1 weights, conv biases 0, fc biases 0.1 (the book's)", () => {
  const model = build('book-cnn');
  const values = (n: string) => model.store.get(n)!.variable.dataSync() as Float32Array;
  for (const w of ['layer1-conv1/weight', 'layer3-conv2/weight', 'layer5-fc1/weight', 'layer6-fc2/weight']) {
    const v = values(w);
    assert.ok(v.every((x) => Math.abs(x) <= 0.2), `${w} within two standard deviations`);
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    assert.ok(std > 0.07 && std < 0.1, `${w} std ${std}`);
  }
  assert.ok(values('layer1-conv1/bias').every((x) => x === 0));
  assert.ok(values('layer3-conv2/bias').every((x) => x === 0));
  assert.ok(values('layer5-fc1/biases').every((x) => Math.abs(x - 0.1) < 1e-7));
  assert.ok(values('layer6-fc2/biases').every((x) => Math.abs(x - 0.1) < 1e-7));
  model.dispose();
});

test('deep-cnn initialisers: every bias 0.1 (the tutorial)', () => {
  const model = build('deep-cnn');
  for (const b of ['conv1/biases', 'conv2/biases', 'fc1/biases', 'fc2/biases']) {
    assert.ok(model.store.get(b)!.variable.dataSync().every((x) => Math.abs(x - 0.1) < 1e-7), b);
  }
  model.dispose();
});

test('vgg-cnn initialisers: He-scaled truncated normal (σ = √(2/fan-in)) weights, zero conv biases', () => {
  const model = build('vgg-cnn');
  for (const [name, fanIn] of [['conv1_1/weights', 9], ['conv1_2/weights', 288], ['conv2_2/weights', 576], ['fc1/weights', 3136]] as const) {
    const v = model.store.get(name)!.variable.dataSync() as Float32Array;
    const sigma = Math.sqrt(2 / fanIn);
    assert.ok(v.every((x) => Math.abs(x) <= 2 * sigma + 1e-6), `${name} within two standard deviations`);
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    // A normal truncated at ±2σ has standard deviation 0.88σ.
    assert.ok(std > 0.75 * sigma && std < sigma, `${name} std ${std} vs σ ${sigma}`);
  }
  assert.ok(model.store.get('conv2_1/biases')!.variable.dataSync().every((x) => x === 0));
  model.dispose();
});

test('fast-cnn: He-scaled truncated normal weights (fc2 σ = 1/16), zero biases; its defaults are a 1.25-epoch one-cycle Adam recipe', () => {
  const model = build('fast-cnn');
  for (const [name, sigma] of [['conv1/weights', Math.sqrt(2 / 25)], ['conv2/weights', Math.sqrt(2 / 216)], ['fc1/weights', Math.sqrt(2 / 800)], ['fc2/weights', 1 / 16]] as const) {
    const v = model.store.get(name)!.variable.dataSync() as Float32Array;
    assert.ok(v.every((x) => Math.abs(x) <= 2 * sigma + 1e-6), `${name} within two standard deviations`);
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    assert.ok(std > 0.75 * sigma && std < sigma, `${name} std ${std} vs σ ${sigma}`);
  }
  for (const b of ['conv1/biases', 'conv2/biases', 'fc1/biases', 'fc2/biases']) assert.ok(model.store.get(b)!.variable.dataSync().every((x) => x === 0), b);
  model.dispose();
  const d = getModelDefinition('fast-cnn').defaults;
  assert.deepEqual([d.optimizer, d.beta1, d.beta2, d.schedule, d.batchSize, d.ema, d.l2], ['adam', 0.7, 0.9, 'one-cycle', 64, 0, 0]);
  assert.equal(d.steps, Math.ceil((1.25 * 55000) / d.batchSize!), '1.25 epochs');
});

test('training defaults: book-cnn 0.01 smooth decay (not the MLP 0.8), deep-cnn Adam 1e-4 × 50 × 20,000', () => {
  assert.deepEqual(
    { ...getModelDefinition('book-cnn').defaults },
    { learningRate: 0.01, decayRate: 0.99, staircase: false, l2: 1e-4, batchSize: 100, steps: 30000, optimizer: 'sgd', ema: 0.99 },
  );
  const deep = getModelDefinition('deep-cnn').defaults;
  assert.deepEqual([deep.optimizer, deep.learningRate, deep.batchSize, deep.steps, deep.decayRate, deep.l2], ['adam', 1e-4, 50, 20000, 1, 0]);
});

for (const name of CNNS) {
  test(`${name}: dropout only in training — inference deterministic, training stochastic`, () => {
    const model = build(name);
    const x = tf.randomUniform([4, 784], 0, 1, 'float32', 3) as tf.Tensor2D;
    const run = (training: boolean) => tf.tidy(() => model.logits(x, training).dataSync() as Float32Array);
    const a = run(false);
    const b = run(false);
    assert.deepEqual(a, b);
    const hasDropout = model.graph.nodes.some((n) => n.op === 'Dropout');
    assert.equal(hasDropout, !WITHOUT_DROPOUT.includes(name));
    const t1 = run(true);
    const t2 = run(true);
    const differs = (p: Float32Array, q: Float32Array) => p.some((v, i) => Math.abs(v - q[i]) > 1e-4);
    assert.equal(differs(t1, t2), hasDropout, 'two training passes');
    assert.equal(differs(t1, a), hasDropout, 'training vs inference');
    // Masks are a function of (seed, global step): the same step draws the same masks in any run.
    const atStep = (m: Model, step: number) => tf.tidy(() => m.logits(x, true, step).dataSync() as Float32Array);
    const again = build(name);
    assert.deepEqual(atStep(model, 5), atStep(again, 5), 'the same step in another model instance');
    assert.equal(differs(atStep(model, 5), atStep(model, 6)), hasDropout, 'another step');
    const otherSeed = Model.build(getModelDefinition(name), { seed: 2 });
    for (const v of otherSeed.store.all()) v.variable.assign(model.store.get(v.name)!.variable);
    assert.equal(differs(atStep(model, 5), atStep(otherSeed, 5)), hasDropout, 'another seed');
    again.dispose();
    otherSeed.dispose();
    x.dispose();
    model.dispose();
  });
}

/**
 * Central differences against tf.variableGrads on two real digits, for the parameters with the
 * largest gradients in every variable (float32: small gradients drown in rounding). Real, mostly
 * blank images keep few ReLU/max-pool kinks within ±eps; random noise images have many.
 */
for (const name of CNNS) {
  test(`${name}: gradients match finite differences (${backend})`, () => {
    const model = build(name, 7);
    const x = tf.div(tf.tensor2d(digits.images, [2, 784], 'float32'), 255) as tf.Tensor2D;
    const y = tf.tensor1d(Array.from(digits.labels), 'int32');
    const loss = () => sparseSoftmaxCrossEntropy(model.logits(x, false), y);
    const vars = model.store.trainable();
    // A zero bias sits every blank-image ReLU exactly on its kink (one-sided derivatives there).
    for (const v of vars) if (v.shape.length === 1) tf.tidy(() => v.variable.assign(tf.add(v.variable, 0.05)));
    const analytic = tf.tidy(() => {
      const { grads } = tf.variableGrads(loss, vars.map((v) => v.variable));
      return vars.map((v) => grads[v.variable.name].dataSync() as Float32Array);
    });
    const eps = 5e-4;
    let checked = 0;
    vars.forEach((v, vi) => {
      const g = analytic[vi];
      const top = largestTwo(g);
      for (const index of top) {
        const original = v.variable.dataSync().slice();
        const lossWith = (delta: number) => {
          const changed = original.slice();
          changed[index] += delta;
          tf.tidy(() => v.variable.assign(tf.tensor(changed, v.variable.shape)));
          return tf.tidy(() => loss().dataSync()[0]);
        };
        const numeric = (lossWith(eps) - lossWith(-eps)) / (2 * eps);
        tf.tidy(() => v.variable.assign(tf.tensor(original, v.variable.shape)));
        const tolerance = 0.05 * Math.abs(g[index]) + 1e-3;
        assert.ok(Math.abs(numeric - g[index]) <= tolerance, `${v.name}[${index}]: numeric ${numeric} vs analytic ${g[index]}`);
        checked++;
      }
    });
    assert.equal(checked, vars.length * 2);
    x.dispose();
    y.dispose();
    model.dispose();
  });
}

function largestTwo(g: Float32Array): number[] {
  let first = 0;
  let second = 1;
  if (Math.abs(g[second]) > Math.abs(g[first])) [first, second] = [second, first];
  for (let i = 2; i < g.length; i++) {
    const a = Math.abs(g[i]);
    if (a > Math.abs(g[first])) [first, second] = [i, first];
    else if (a > Math.abs(g[second])) second = i;
  }
  return [first, second];
}
