/**
 * Every model's training recipe pinned to the numbers of the book (mnist_train.py, the CNN chapter,
 * §8.4, §6.5 retrain) and the Deep MNIST tutorial — /work/shared/BOOK.md — or, for mnist-ts's own
 * models, to the numbers the README documents. A changed default fails here, by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Model } from '../../src/models/model.js';
import { getModelDefinition, modelNames } from '../../src/models/registry.js';
import { SINE_BOOK } from '../../src/rnn/sine-data.js';
import { SINE_DEFAULTS } from '../../src/rnn/sine.js';
import { BOOK_DEFAULTS, type TrainDefaults } from '../../src/train/config.js';
import { TRANSFER_DEFAULTS } from '../../src/transfer/transfer.js';
import { runCli } from '../helpers/cli.js';
import { AUGMENT_PRESETS } from '../../src/data/augment.js';
import { chainTwin } from '../../bench/chain-twin.js';
import { recipeTrainOptions, resolveRecipe } from '../../src/train/recipe.js';
import { layerChain } from '../../src/models/layer-chain.js';
import { train as trainApi } from '../../src/api/train.js';

/** What `mnist train --model NAME` trains with when no flag is given (the CLI's merge). */
const recipe = (name: string): TrainDefaults => ({ ...BOOK_DEFAULTS, ...getModelDefinition(name).defaults });

/** Variables and their shapes, in creation order: the architecture the recipe trains. */
const variables = (name: string): string[] => {
  const model = Model.build(getModelDefinition(name));
  const list = model.store.all().map((v) => `${v.name} ${v.variable.shape.join('×')}`);
  model.dispose();
  return list;
};

const dropoutRates = (name: string): number[] => {
  const model = Model.build(getModelDefinition(name));
  const rates = model.graph.nodes.filter((n) => n.op === 'Dropout').map((n) => n.attrs.rate as number);
  model.dispose();
  return rates;
};

/** Checkpoint and log cadence of mnist_train.py, for every model. */
const EVERY_1000 = { checkpointEvery: 1000, logEvery: 1000, seed: 1, momentum: 0.9 };

test('mlp: mnist_train.py — lr 0.8 ×0.99 per epoch (staircase), L2 1e-4, EMA 0.99, batch 100, 30,000 steps, SGD; 784-500-10', () => {
  assert.deepEqual(recipe('mlp'), {
    batchSize: 100, steps: 30000, learningRate: 0.8, decayRate: 0.99, staircase: true, l2: 1e-4, ema: 0.99, optimizer: 'sgd', ...EVERY_1000,
  });
  assert.equal(recipe('mlp').decaySteps, undefined, 'decay every epoch: 55,000 / 100 = 550 steps');
  assert.deepEqual(variables('mlp'), ['layer1/weights 784×500', 'layer1/biases 500', 'layer2/weights 500×10', 'layer2/biases 10']);
});

test('softmax: the tutorial — GD 0.5, 1,000 steps × 100, no decay, no L2, no EMA; W, b 784×10', () => {
  assert.deepEqual(recipe('softmax'), {
    batchSize: 100, steps: 1000, learningRate: 0.5, decayRate: 1, staircase: true, l2: 0, ema: 0, optimizer: 'sgd', ...EVERY_1000,
  });
  assert.deepEqual(variables('softmax'), ['W 784×10', 'b 10']);
});

test('book-cnn: mnist_train_CNN.py — lr 0.01 ×0.99 per epoch (smooth), L2 1e-4, EMA 0.99, batch 100, 30,000 steps, SGD; dropout 0.5', () => {
  assert.deepEqual(recipe('book-cnn'), {
    batchSize: 100, steps: 30000, learningRate: 0.01, decayRate: 0.99, staircase: false, l2: 1e-4, ema: 0.99, optimizer: 'sgd', ...EVERY_1000,
  });
  assert.deepEqual(dropoutRates('book-cnn'), [0.5]);
  assert.deepEqual(variables('book-cnn'), [
    'layer1-conv1/weight 5×5×1×32', 'layer1-conv1/bias 32', 'layer3-conv2/weight 5×5×32×64', 'layer3-conv2/bias 64',
    'layer5-fc1/weight 3136×512', 'layer5-fc1/biases 512', 'layer6-fc2/weight 512×10', 'layer6-fc2/biases 10',
  ]);
});

test('deep-cnn: mnist_deep.py — Adam 1e-4, batch 50, 20,000 steps, no decay, no L2 (EMA 0.999 is ours); fc 1024, keep 0.5', () => {
  assert.deepEqual(recipe('deep-cnn'), {
    batchSize: 50, steps: 20000, learningRate: 1e-4, decayRate: 1, staircase: true, l2: 0, ema: 0.999, optimizer: 'adam', ...EVERY_1000,
  });
  assert.deepEqual(dropoutRates('deep-cnn'), [0.5]);
  assert.deepEqual(variables('deep-cnn'), [
    'conv1/weights 5×5×1×32', 'conv1/biases 32', 'conv2/weights 5×5×32×64', 'conv2/biases 64',
    'fc1/weights 3136×1024', 'fc1/biases 1024', 'fc2/weights 1024×10', 'fc2/biases 10',
  ]);
});

test('lenet5: Adam 1e-3 ×0.9 per epoch, L2 5e-4, EMA 0.99, batch 100, 12,000 steps; 6 and 16 VALID 5×5 maps, fc 120-84-10', () => {
  assert.deepEqual(recipe('lenet5'), {
    batchSize: 100, steps: 12000, learningRate: 0.001, decayRate: 0.9, staircase: true, l2: 5e-4, ema: 0.99, optimizer: 'adam', ...EVERY_1000,
  });
  assert.deepEqual(dropoutRates('lenet5'), []);
  assert.deepEqual(variables('lenet5').filter((v) => v.includes('weight')), [
    'layer1-conv1/weight 5×5×1×6', 'layer3-conv2/weight 5×5×6×16', 'layer5-fc1/weight 400×120', 'layer6-fc2/weight 120×84', 'layer7-fc3/weight 84×10',
  ]);
});

test('inception-mini: Adam 1e-3 ×0.96 per epoch, L2 1e-4, EMA 0.99, batch 100, 6,000 steps; dropout 0.2 before a 896→10 layer', () => {
  assert.deepEqual(recipe('inception-mini'), {
    batchSize: 100, steps: 6000, learningRate: 1e-3, decayRate: 0.96, staircase: true, l2: 1e-4, ema: 0.99, optimizer: 'adam', ...EVERY_1000,
  });
  assert.deepEqual(dropoutRates('inception-mini'), [0.2]);
  assert.ok(variables('inception-mini').includes('Logits/weights 896×10'));
});

test('vgg-cnn: Adam 1e-3 ×0.85 per epoch, batch 100, 11,000 steps (20 epochs), EMA 0.999, no L2; dropout 0.5', () => {
  assert.deepEqual(recipe('vgg-cnn'), {
    batchSize: 100, steps: 11000, learningRate: 1e-3, decayRate: 0.85, staircase: true, l2: 0, ema: 0.999, optimizer: 'adam', ...EVERY_1000,
  });
  assert.deepEqual(dropoutRates('vgg-cnn'), [0.5]);
  assert.deepEqual(variables('vgg-cnn').filter((v) => v.includes('weights')), [
    'conv1_1/weights 3×3×1×32', 'conv1_2/weights 3×3×32×32', 'conv2_1/weights 3×3×32×64', 'conv2_2/weights 3×3×64×64', 'fc1/weights 3136×256', 'fc2/weights 256×10',
  ]);
});

test('vgg-bn: vgg-cnn\'s 25 epochs at Adam 3e-3 ×0.88 per epoch, affine distortions; normalised convolutions without biases', () => {
  assert.deepEqual(recipe('vgg-bn'), {
    batchSize: 100, steps: 13750, learningRate: 3e-3, decayRate: 0.88, staircase: true, l2: 0, ema: 0.999, optimizer: 'adam', ...EVERY_1000,
  });
  assert.equal(getModelDefinition('vgg-bn').augment, 'affine');
  assert.deepEqual(dropoutRates('vgg-bn'), [0.5]);
  assert.deepEqual(variables('vgg-bn').filter((v) => v.startsWith('conv1_1/')), [
    'conv1_1/weights 3×3×1×32', 'conv1_1/batch_normalization/gamma 32', 'conv1_1/batch_normalization/beta 32',
    'conv1_1/batch_normalization/moving_mean 32', 'conv1_1/batch_normalization/moving_variance 32',
  ]);
});

test('fast-cnn: 1.25 epochs (1075 × 64), one-cycle Adam 0.01 β=(0.7, 0.9), 20 % warm-up, no L2, no EMA; conv24-pool-conv32-pool-fc256-fc10', () => {
  assert.deepEqual(recipe('fast-cnn'), {
    ...BOOK_DEFAULTS, batchSize: 64, steps: 1075, learningRate: 0.01, decayRate: 1, l2: 0, ema: 0, optimizer: 'adam',
    beta1: 0.7, beta2: 0.9, schedule: 'one-cycle', warmup: 0.2, checkpointEvery: 1_000_000, validateEvery: 215, logEvery: 215,
  });
  assert.deepEqual(dropoutRates('fast-cnn'), []);
  assert.deepEqual(variables('fast-cnn').filter((v) => v.includes('weights')), [
    'conv1/weights 5×5×1×24', 'conv2/weights 3×3×24×32', 'fc1/weights 800×256', 'fc2/weights 256×10',
  ]);
});

test('fast-cnn-995: 8 epochs (3438 × 128) of lightly distorted batches (±2 px, ±6°, ±5 %), one-cycle Adam 0.005 β=(0.7, 0.9), label smoothing 0.1; conv32-pool-conv64-pool-fc256-fc10, the whole step\'s chain', () => {
  assert.deepEqual(recipe('fast-cnn-995'), {
    ...BOOK_DEFAULTS, batchSize: 128, steps: 3438, learningRate: 0.005, labelSmoothing: 0.1, decayRate: 1, l2: 0, ema: 0, optimizer: 'adam',
    beta1: 0.7, beta2: 0.9, schedule: 'one-cycle', warmup: 0.2, checkpointEvery: 1_000_000, validateEvery: 860, logEvery: 860,
  });
  assert.deepEqual(dropoutRates('fast-cnn-995'), []);
  assert.deepEqual(variables('fast-cnn-995').filter((v) => v.includes('weights')), [
    'conv1/weights 5×5×1×32', 'conv2/weights 3×3×32×64', 'fc1/weights 1600×256', 'fc2/weights 256×10',
  ]);
  const chain = [
    { kind: 'conv', k: 5, h: 28, in: 1, out: 32, same: false, relu: true, pool: true },
    { kind: 'conv', k: 3, h: 12, in: 32, out: 64, same: false, relu: true, pool: true },
    { kind: 'dense', in: 1600, out: 256, relu: true, keep: 1 },
    { kind: 'dense', in: 256, out: 10, relu: false, keep: 1 },
  ];
  const model = Model.build(getModelDefinition('fast-cnn-995'));
  assert.deepEqual(layerChain(model)?.layers, chain, 'the whole native step takes it');
  model.dispose();
  assert.deepEqual(chainTwin('fast-cnn-995').layers.map(({ init: _init, l2: _l2, ...layer }) => layer), chain, 'what the PyTorch twin builds');
});

test('fast-cnn-995 trains on lightly distorted batches unless told otherwise; other models do not', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mnist-recipe-'));
  const fresh = resolveRecipe({ modelDir: dir, model: 'fast-cnn-995' });
  assert.equal(fresh.augment, 'light');
  assert.deepEqual(AUGMENT_PRESETS.light, { maxShift: 2, maxRotation: 6, maxScale: 0.05 });
  assert.deepEqual(recipeTrainOptions(fresh, dir).augment, AUGMENT_PRESETS.light);
  assert.equal(resolveRecipe({ modelDir: dir, model: 'fast-cnn-995', augment: false }).augment, undefined, '--no-augment');
  assert.equal(resolveRecipe({ modelDir: dir, model: 'fast-cnn-995', augment: 'elastic' }).augment, 'elastic', '--augment elastic');
  assert.equal(resolveRecipe({ modelDir: dir, model: 'fast-cnn' }).augment, undefined);
  assert.equal(recipeTrainOptions(resolveRecipe({ modelDir: dir, model: 'fast-cnn' }), dir).augment, undefined);
});

test('mnist train --model fast-cnn-995 (a few steps): trains with the light augmentation and records it for a resumed run', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-995-')), 'run');
  const env = { MNIST_NATIVE_THREADS: '1' };
  const first = runCli(['train', '--model', 'fast-cnn-995', '--model-dir', dir, '--steps', '2', '--limit', '300', '--batch-size', '16', '--no-progress'], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /Trained to step 2 /);
  const resumed = runCli(['train', '--model-dir', dir, '--steps', '3', '--limit', '300', '--no-progress'], { env });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /Resuming with the recorded recipe: adam.*batch 16.*, augment light$/m);
});

test('mnist train --label-smoothing: recorded in the model directory, kept on resume, refused outside [0, 1)', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-smoothing-')), 'run');
  const env = { MNIST_NATIVE_THREADS: '1' };
  const first = runCli(['train', '--model', 'fast-cnn', '--model-dir', dir, '--steps', '2', '--limit', '300', '--batch-size', '16', '--label-smoothing', '0.2', '--no-progress'], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(JSON.parse(readFileSync(path.join(dir, 'mnist-ts.json'), 'utf8')).recipe.labelSmoothing, 0.2);
  const resumed = runCli(['train', '--model-dir', dir, '--steps', '3', '--limit', '300', '--no-progress'], { env });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /Resuming with the recorded recipe: .*, label smoothing 0\.2/);
  const bad = runCli(['train', '--model-dir', dir, '--label-smoothing', '1', '--no-progress'], { env });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /label-smoothing.*expected a number in \[0, 1\), got "1"/);
  assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/, 'no stack trace');
});

test('mnist train --validation-size 0: trains on every image, recorded and kept on resume; --keep-best refused; mnist eval says the figure is not held out', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-valsize-')), 'run');
  const env = { MNIST_NATIVE_THREADS: '1' };
  const first = runCli(['train', '--model', 'fast-cnn', '--model-dir', dir, '--steps', '2', '--batch-size', '16', '--validation-size', '0', '--no-progress'], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /Training fast-cnn on 60000 images/);
  assert.match(first.stdout, /Trained to step 2 .*; no validation images held out; checkpoint /);
  assert.equal(JSON.parse(readFileSync(path.join(dir, 'mnist-ts.json'), 'utf8')).recipe.validationSize, 0);
  const resumed = runCli(['train', '--model-dir', dir, '--steps', '3', '--limit', '300', '--no-progress'], { env });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /Resuming with the recorded recipe: .*, validation size 0$/m);
  const keepBest = runCli(['train', '--model-dir', dir, '--steps', '4', '--limit', '300', '--keep-best', '--no-progress'], { env });
  assert.notEqual(keepBest.code, 0);
  assert.match(keepBest.stderr, /--keep-best needs validation images: this run holds none out/);
  const validateEvery = runCli(['train', '--model-dir', dir, '--steps', '4', '--limit', '300', '--validate-every', '1', '--no-progress'], { env });
  assert.notEqual(validateEvery.code, 0);
  assert.match(validateEvery.stderr, /--validate-every needs validation images/);
  assert.doesNotMatch(keepBest.stderr, /at .*\.js:\d+/, 'no stack trace');
  const evaluated = runCli(['eval', '--model-dir', dir, '--once', '--limit', '200'], { env });
  assert.equal(evaluated.code, 0, evaluated.stderr);
  assert.match(evaluated.stderr, /trained on every training image \(validation size 0\).*not a held-out figure/);
  assert.match(evaluated.stdout, /After 3 training step\(s\), validation accuracy = /);
  const held = path.join(path.dirname(dir), 'held');
  const other = runCli(['train', '--model', 'fast-cnn', '--model-dir', held, '--steps', '1', '--batch-size', '16', '--validation-size', '59000', '--no-progress'], { env });
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stderr, /Training fast-cnn on 1000 images/);
  const tooMany = runCli(['train', '--model', 'fast-cnn', '--model-dir', held, '--fresh', '--validation-size', '60000', '--no-progress'], { env });
  assert.notEqual(tooMany.code, 0);
  assert.match(tooMany.stderr, /60000 training images; a validation set of 60000 leaves none to train on/);
});

test('train({ validationSize: 0 }) (the library): records it, and reports NaN validation accuracy rather than a figure on training images', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-valsize-api-')), 'run');
  const summary = await trainApi({ modelDir: dir, model: 'softmax', steps: 2, limit: 200, validationSize: 0 });
  assert.equal(summary.recipe.validationSize, 0);
  assert.ok(Number.isNaN(summary.validationAccuracy));
  const held = await trainApi({ modelDir: dir, steps: 3, limit: 200, validationSize: 100 });
  assert.ok(held.validationAccuracy >= 0 && held.validationAccuracy <= 1);
  assert.equal(JSON.parse(readFileSync(path.join(dir, 'mnist-ts.json'), 'utf8')).recipe.validationSize, 100);
});

test('every registry model has its recipe pinned above', () => {
  assert.deepEqual(modelNames().sort(), ['book-cnn', 'deep-cnn', 'fast-cnn', 'fast-cnn-995', 'inception-mini', 'lenet5', 'mlp', 'softmax', 'vgg-bn', 'vgg-cnn']);
});

test('sine (§8.4): 2 LSTM layers × 30, windows of 10 every 0.01, 10,000/1,000 examples, batch 32, shuffle 1000, Adagrad 0.1, 11,000 steps', () => {
  assert.deepEqual({ ...SINE_BOOK }, {
    hiddenSize: 30, numLayers: 2, timeSteps: 10, trainingSteps: 11000, batchSize: 32, trainingExamples: 10000, testingExamples: 1000,
    sampleGap: 0.01, shuffleBuffer: 1000, learningRate: 0.1,
  });
  assert.deepEqual(
    [SINE_DEFAULTS.steps, SINE_DEFAULTS.batchSize, SINE_DEFAULTS.learningRate, SINE_DEFAULTS.hiddenSize, SINE_DEFAULTS.numLayers, SINE_DEFAULTS.shuffleBuffer, SINE_DEFAULTS.layout, SINE_DEFAULTS.logEvery],
    [11000, 32, 0.1, 30, 2, 1000, 'book', 1000],
  );
});

test('transfer (§6.5): 4,000 steps × 100 bottlenecks, GD 0.01, 10 % validation, 10 % test, accuracy every 100 steps', () => {
  assert.deepEqual(
    { steps: TRANSFER_DEFAULTS.steps, batchSize: TRANSFER_DEFAULTS.batchSize, learningRate: TRANSFER_DEFAULTS.learningRate, validationPercent: TRANSFER_DEFAULTS.validationPercent, testingPercent: TRANSFER_DEFAULTS.testingPercent, evalEvery: TRANSFER_DEFAULTS.evalEvery },
    { steps: 4000, batchSize: 100, learningRate: 0.01, validationPercent: 10, testingPercent: 10, evalEvery: 100 },
  );
});

test('mnist train with no recipe flags records the MLP book recipe in mnist-ts.json', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-recipe-')), 'mlp');
  const r = runCli(['train', '--model-dir', dir, '--steps', '1', '--limit', '100', '--no-progress'], { env: { MNIST_NATIVE_THREADS: '1' } });
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(readFileSync(path.join(dir, 'mnist-ts.json'), 'utf8'));
  assert.deepEqual({ model: info.model, ...info.recipe }, {
    model: 'mlp', batchSize: 100, steps: 1, learningRate: 0.8, decayRate: 0.99, staircase: true, l2: 1e-4, ema: 0.99, optimizer: 'sgd', momentum: 0.9, seed: 1,
  });
});
