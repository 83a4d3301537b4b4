import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { nativeCnnStep, nativeDropoutMask } from '../../src/backend/cnn-step.js';
import { nativeBackend } from '../../src/backend/variable-memory.js';
import { GraphBuilder } from '../../src/models/graph.js';
import { layerChain, type ChainLayer } from '../../src/models/layer-chain.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { createOptimizer, type Optimizer } from '../../src/train/optimizers.js';
import { foldedDecays, splitRegularization } from '../../src/train/regularization.js';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import { gradientStep, trainingStep } from '../../src/train/train.js';
import { wholeStepFor } from '../../src/train/whole-step.js';
import { constant, truncatedNormal } from '../../src/variables/initializers.js';
import { l1Regularizer, l2Regularizer } from '../../src/variables/regularizers.js';
import { VariableStore } from '../../src/variables/store.js';
import { maxRelError, nativeOrSkip, randomValues, TOLERANCE } from '../backend/parity-helpers.js';
import { chainLogits } from './chain-reference.js';

const skip = nativeOrSkip();
const BATCH = 16;

function batch(step: number) {
  const images = randomValues(BATCH * 784, 1000 + step, 0, 1);
  const labels = Int32Array.from({ length: BATCH }, (_, i) => (i * 7 + step * 3) % 10);
  return { images, labels };
}

/** The models the whole step trains, each with the optimizer (and L2) its recipe uses. */
const CASES: Array<{ name: string; optimizer: () => Optimizer; l2?: number }> = [
  { name: 'fast-cnn', optimizer: () => createOptimizer('adam', { momentum: 0, beta1: 0.7, beta2: 0.9 }) },
  { name: 'deep-cnn', optimizer: () => createOptimizer('adam', { momentum: 0 }) },
  { name: 'vgg-cnn', optimizer: () => createOptimizer('adam', { momentum: 0 }) },
  { name: 'vgg-bn', optimizer: () => createOptimizer('adam', { momentum: 0 }) },
  { name: 'book-cnn', optimizer: () => createOptimizer('sgd', { momentum: 0 }), l2: 1e-4 },
  { name: 'mlp', optimizer: () => createOptimizer('adam', { momentum: 0 }), l2: 1e-2 },
];

const build = (name: string, l2 = 0, seed = 5) => Model.build(getModelDefinition(name), { seed, regularizer: l2 > 0 ? l2Regularizer(l2) : undefined });

/**
 * A chain with dropout after conv layers: after the first layer's pool (the direct AVX-512 kernel
 * where the CPU has it), after an unpooled SAME conv, and none after the last conv.
 */
function convDropoutModel(): Model {
  const store = new VariableStore(3);
  const b = new GraphBuilder(store);
  const input = b.placeholder('x-input', [null, 784]);
  const conv = (x: string, shape: number[], padding: 'SAME' | 'VALID', scope: string) => b.scope(scope, () => {
    const w = b.variable('weights', shape, { initializer: truncatedNormal(Math.sqrt(2 / (shape[0] * shape[1] * shape[2]))) });
    return b.relu(b.biasAdd(b.conv2d(x, w, [1, 1], padding), b.variable('biases', [shape[3]], { initializer: constant(0.05) })));
  });
  const c1 = b.dropout(b.maxPool(conv(b.reshape(input, [-1, 28, 28, 1]), [5, 5, 1, 24], 'VALID', 'conv1'), [2, 2], [2, 2], 'VALID'), 0.25);
  const c2 = b.dropout(conv(c1, [3, 3, 24, 32], 'SAME', 'conv2'), 0.4);
  const c3 = b.maxPool(conv(c2, [3, 3, 32, 32], 'VALID', 'conv3'), [2, 2], [2, 2], 'VALID');
  const logits = b.scope('fc', () => b.add2(b.matMul(b.reshape(c3, [-1, 800]), b.variable('weights', [800, 10], { initializer: truncatedNormal(0.05) })),
    b.variable('biases', [10], { initializer: constant(0) })));
  return new Model(getModelDefinition('mlp'), store, b.graph, input, logits);
}

function assertClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const err = maxRelError(actual, expected);
  assert.ok(err <= TOLERANCE, `${label}: max relative error ${err.toExponential(2)} > ${TOLERANCE}`);
}

/** With `threads` OpenMP threads (so 1 or 2 workers), restoring the backend's count afterwards. */
async function withThreads<T>(threads: number, fn: () => T | Promise<T>): Promise<T> {
  const addon = nativeBackend()!.addon;
  const before = addon.info().threads;
  addon.setThreads(threads);
  try {
    return await fn();
  } finally {
    addon.setThreads(before);
  }
}

/** `fn` run as if the native addon lacked its export `name` (a stale build), restoring it afterwards. */
function withoutAddonEntry<T>(name: string, fn: () => T): T {
  const addon = nativeBackend()!.addon as unknown as Record<string, unknown>;
  const saved = addon[name];
  addon[name] = undefined;
  try {
    return fn();
  } finally {
    addon[name] = saved;
  }
}

/** The dropout seeds a training call at `step` uses, one per layer (0 where it has no dropout). */
function seedsAt(model: Model, layers: ChainLayer[], step: number): number[] {
  const next = model.dropoutSeeder(step);
  return layers.map((l) => ((l.keep ?? 1) < 1 ? next() : 0));
}

/** The whole step's dropout masks for those seeds, as tensors by layer index. */
function masksFor(layers: ChainLayer[], seeds: number[], rows: number): Map<number, tf.Tensor> {
  const masks = new Map<number, tf.Tensor>();
  layers.forEach((l, i) => {
    const keep = l.keep ?? 1;
    const cols = l.kind === 'conv' ? (l.pool ? ((l.same ? l.h : l.h - l.k + 1) / 2) ** 2 : (l.same ? l.h : l.h - l.k + 1) ** 2) * l.out : l.out;
    if (keep < 1) masks.set(i, tf.tensor2d(nativeDropoutMask(seeds[i], rows, cols, keep)!, [rows, cols]));
  });
  return masks;
}

/**
 * The tape's mean cross-entropy (TensorFlow.js's own, with its label smoothing) and its gradients
 * through the reference chain (chain-reference.ts), in chain order.
 */
function tapeGradients(layers: ChainLayer[], weights: tf.Variable[], b: { images: Float32Array; labels: Int32Array }, masks: Map<number, tf.Tensor>, smoothing = 0) {
  return tf.tidy(() => {
    const xs = tf.tensor2d(b.images, [b.labels.length, 784]);
    const ys = tf.oneHot(tf.tensor1d(b.labels, 'int32'), 10);
    const loss = () => tf.losses.softmaxCrossEntropy(ys, chainLogits(layers, weights, xs, masks), undefined, smoothing) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, weights);
    return { loss: value.dataSync()[0], grads: weights.map((w) => grads[w.name].dataSync() as Float32Array) };
  });
}

/** Every variable of a training run (weights, optimizer slots) by name. */
function stateOf(model: Model, optimizer: Optimizer): Map<string, tf.Variable> {
  const state = new Map<string, tf.Variable>();
  for (const v of model.store.trainable()) state.set(v.name, v.variable);
  for (const [name, s] of optimizer.slots()) state.set(name, s);
  return state;
}

/**
 * `steps` training steps of a model through `gradientStep` (so the whole step) against the
 * reference: at every step, from the expected run's state, the whole step's loss and gradients
 * against the reference chain's on the tape (with the same dropout masks), and its update against
 * the optimizer's own apply() fed those gradients and the folded L2. Adam divides by √v, which
 * magnifies float32 rounding in near-zero gradients, so the update is compared on equal gradients.
 */
async function lockstep(name: string, makeOptimizer: () => Optimizer, l2: number, steps: number, threads: number, smoothing = 0): Promise<boolean> {
  await tf.setBackend('native');
  return withThreads(threads, () => {
    const [ours, expected] = [0, 1].map(() => ({ model: build(name, l2), optimizer: makeOptimizer() }));
    for (const r of [ours, expected]) r.optimizer.createSlots(r.model.store.trainable());
    const whole = wholeStepFor(ours.model, ours.optimizer, smoothing) !== null;
    const chain = layerChain(ours.model)!;
    const native = nativeCnnStep(chain.layers)!;
    const decays = foldedDecays(chain.variables, splitRegularization(ours.model).folded);
    const [a, e] = [ours, expected].map((x) => stateOf(x.model, x.optimizer));
    const expectedVars = chain.variables.map((v) => expected.model.store.get(v.name)!);
    for (let step = 0; step < steps; step++) {
      for (const [n, v] of e) a.get(n)!.assign(v.clone());
      const b = batch(step);
      const lr = (0.01 * (step + 1)) / steps;
      const seeds = seedsAt(ours.model, chain.layers, step);
      const masks = masksFor(chain.layers, seeds, BATCH);
      const tape = tapeGradients(chain.layers, expectedVars.map((v) => v.variable), b, masks, smoothing);
      tf.dispose([...masks.values()]);
      const mine = native.gradients(b.images, b.labels, chain.variables.map((v) => v.variable), seeds, smoothing);
      assert.ok(Math.abs(mine.loss - tape.loss) <= TOLERANCE * tape.loss, `step ${step}: loss ${mine.loss} vs ${tape.loss}`);
      mine.grads.forEach((g, i) => assertClose(`step ${step}: gradient of ${chain.variables[i].name}`, g.dataSync(), tape.grads[i]));
      const l2Term = expected.optimizer.apply(expectedVars, mine.grads, lr, decays);
      tf.dispose(mine.grads);
      const loss = gradientStep(ours.model, ours.optimizer, b, lr, step, smoothing);
      const want = tape.loss + l2Term;
      assert.ok(Math.abs(loss.dataSync()[0] - want) <= TOLERANCE * want, `step ${step}: whole step's loss ${loss.dataSync()[0]} vs ${want}`);
      loss.dispose();
      for (const [n, v] of e) assertClose(`step ${step}: ${n}`, a.get(n)!.dataSync(), v.dataSync());
    }
    for (const x of [ours, expected]) {
      x.model.dispose();
      x.optimizer.dispose();
    }
    return whole;
  });
}

describe('layerChain: which graphs the whole step takes', () => {
  it('reads the registry CNNs and the MLP as chains of layers', () => {
    const layersOf = (name: string) => layerChain(build(name))?.layers;
    assert.deepEqual(layersOf('fast-cnn'), [
      { kind: 'conv', k: 5, h: 28, in: 1, out: 24, same: false, relu: true, pool: true },
      { kind: 'conv', k: 3, h: 12, in: 24, out: 32, same: false, relu: true, pool: true },
      { kind: 'dense', in: 800, out: 256, relu: true, keep: 1 },
      { kind: 'dense', in: 256, out: 10, relu: false, keep: 1 },
    ]);
    assert.deepEqual(layersOf('deep-cnn'), [
      { kind: 'conv', k: 5, h: 28, in: 1, out: 32, same: true, relu: true, pool: true },
      { kind: 'conv', k: 5, h: 14, in: 32, out: 64, same: true, relu: true, pool: true },
      { kind: 'dense', in: 3136, out: 1024, relu: true, keep: 0.5 },
      { kind: 'dense', in: 1024, out: 10, relu: false, keep: 1 },
    ]);
    assert.deepEqual(layersOf('vgg-cnn')?.map((l) => (l.kind === 'conv' ? `${l.k}/${l.out}${l.pool ? 'p' : ''}` : `${l.out}@${l.keep}`)),
      ['3/32', '3/32p', '3/64', '3/64p', '256@0.5', '10@1']);
    const batchNorm = { epsilon: 1e-3, momentum: 0.99 };
    assert.deepEqual(layersOf('vgg-bn')?.slice(0, 2), [
      { kind: 'conv', k: 3, h: 28, in: 1, out: 32, same: true, relu: true, pool: false, batchNorm },
      { kind: 'conv', k: 3, h: 28, in: 32, out: 32, same: true, relu: true, pool: true, batchNorm },
    ]);
    const vggBn = layerChain(build('vgg-bn'))!;
    assert.deepEqual(vggBn.variables.slice(0, 4).map((v) => v.name),
      ['conv1_1/weights', 'conv1_1/batch_normalization/gamma', 'conv1_1/batch_normalization/beta', 'conv1_2/weights']);
    assert.deepEqual(vggBn.statistics.slice(0, 3).map((v) => v.name),
      ['conv1_1/batch_normalization/moving_mean', 'conv1_1/batch_normalization/moving_variance', 'conv1_2/batch_normalization/moving_mean']);
    assert.deepEqual(layersOf('mlp'), [
      { kind: 'dense', in: 784, out: 500, relu: true, keep: 1 },
      { kind: 'dense', in: 500, out: 10, relu: false, keep: 1 },
    ]);
    assert.deepEqual(layersOf('softmax'), [{ kind: 'dense', in: 784, out: 10, relu: false, keep: 1 }]);
    assert.equal(layersOf('lenet5'), undefined, 'lenet5 pads its input first');
    assert.equal(layersOf('inception-mini'), undefined, 'inception branches');
  });

  it('refuses graphs that are not a plain chain', () => {
    const custom = (build: (b: GraphBuilder, x: string) => string) => {
      const store = new VariableStore(1);
      const b = new GraphBuilder(store);
      const input = b.placeholder('x-input', [null, 784]);
      const logits = build(b, input);
      return new Model(getModelDefinition('mlp'), store, b.graph, input, logits);
    };
    const dense = (b: GraphBuilder, x: string, n: number, out: number, scope: string) => b.scope(scope, () =>
      b.add2(b.matMul(x, b.variable('w', [n, out], { initializer: constant(0.1) })), b.variable('b', [out], { initializer: constant(0) })));
    const plain = custom((b, x) => dense(b, b.relu(dense(b, x, 784, 20, 'l1')), 20, 10, 'l2'));
    assert.notEqual(layerChain(plain), undefined, 'the plain two-layer net is a chain');
    const strided = custom((b, x) => {
      const image = b.reshape(x, [-1, 28, 28, 1]);
      const conv = b.conv2d(image, b.variable('w', [3, 3, 1, 4], { initializer: constant(0.1) }), [2, 2], 'SAME');
      const out = b.relu(b.biasAdd(conv, b.variable('b', [4], { initializer: constant(0) })));
      return dense(b, b.reshape(out, [-1, 14 * 14 * 4]), 14 * 14 * 4, 10, 'fc');
    });
    assert.equal(layerChain(strided), undefined, 'a strided convolution');
    const reluLogits = custom((b, x) => b.relu(dense(b, x, 784, 10, 'l1')));
    assert.equal(layerChain(reluLogits), undefined, 'logits through a ReLU');
    const skip = custom((b, x) => {
      const h = b.relu(dense(b, x, 784, 20, 'l1'));
      return dense(b, b.add2(h, h), 20, 10, 'l2');
    });
    assert.equal(layerChain(skip), undefined, 'an op the chain does not know');
  });

  it('reads dropout after a conv layer (after its ReLU and pool) as that layer\'s keep probability', () => {
    const model = convDropoutModel();
    assert.deepEqual(layerChain(model)?.layers, [
      { kind: 'conv', k: 5, h: 28, in: 1, out: 24, same: false, relu: true, pool: true, keep: 0.75 },
      { kind: 'conv', k: 3, h: 12, in: 24, out: 32, same: true, relu: true, pool: false, keep: 0.6 },
      { kind: 'conv', k: 3, h: 12, in: 32, out: 32, same: false, relu: true, pool: true },
      { kind: 'dense', in: 800, out: 10, relu: false, keep: 1 },
    ]);
    model.dispose();
  });
});

describe('the whole native training step of a layer chain', { skip }, () => {
  it('computes what the graph computes (the reference chain against model.logits)', async () => {
    await tf.setBackend('native');
    // A batch-normalised model normalises with the moving statistics in inference, the batch's here.
    for (const { name } of CASES.filter((c) => c.name !== 'vgg-bn')) {
      const model = build(name);
      const chain = layerChain(model)!;
      const b = batch(0);
      const [ref, graph] = tf.tidy(() => {
        const xs = tf.tensor2d(b.images, [BATCH, 784]);
        return [chainLogits(chain.layers, chain.variables.map((v) => v.variable), xs).dataSync(), model.logits(xs, false).dataSync()];
      });
      assertClose(`${name}: logits`, ref, graph);
      model.dispose();
    }
  });

  for (const { name } of CASES) {
    for (const threads of [1, 2]) {
      it(`${name}: the tape's loss and gradients, dropout masks included (${threads} worker(s))`, async () => {
        await tf.setBackend('native');
        await withThreads(threads, () => {
          const model = build(name);
          const chain = layerChain(model)!;
          const weights = chain.variables.map((v) => v.variable);
          const b = batch(1);
          const seeds = seedsAt(model, chain.layers, 7);
          const masks = masksFor(chain.layers, seeds, BATCH);
          const expected = tapeGradients(chain.layers, weights, b, masks);
          tf.dispose([...masks.values()]);
          const { loss, grads } = nativeCnnStep(chain.layers)!.gradients(b.images, b.labels, weights, seeds);
          assert.ok(Math.abs(loss - expected.loss) <= TOLERANCE * Math.abs(expected.loss), `loss ${loss} vs ${expected.loss}`);
          grads.forEach((g, i) => assertClose(`gradient of ${chain.variables[i].name}`, g.dataSync(), expected.grads[i]));
          tf.dispose(grads);
          model.dispose();
        });
      });
    }
  }

  for (const threads of [1, 2]) {
    it(`dropout after conv layers: the tape's loss and gradients with the step's masks (${threads} worker(s)); an addon without it is not used`, async () => {
      await tf.setBackend('native');
      await withThreads(threads, () => {
        const model = convDropoutModel();
        const chain = layerChain(model)!;
        const weights = chain.variables.map((v) => v.variable);
        const b = batch(2);
        const seeds = seedsAt(model, chain.layers, 11);
        assert.deepEqual(seeds.map((s) => s !== 0), [true, true, false, false]);
        const masks = masksFor(chain.layers, seeds, BATCH);
        const expected = tapeGradients(chain.layers, weights, b, masks);
        const undropped = tapeGradients(chain.layers, weights, b, new Map());
        tf.dispose([...masks.values()]);
        const { loss, grads } = nativeCnnStep(chain.layers)!.gradients(b.images, b.labels, weights, seeds);
        assert.ok(Math.abs(loss - expected.loss) <= TOLERANCE * Math.abs(expected.loss), `loss ${loss} vs ${expected.loss}`);
        assert.ok(Math.abs(loss - undropped.loss) > 1e-3, 'the masks change the loss');
        grads.forEach((g, i) => assertClose(`gradient of ${chain.variables[i].name}`, g.dataSync(), expected.grads[i]));
        tf.dispose(grads);
        assert.equal(withoutAddonEntry('cnnStepConvDropout', () => nativeCnnStep(chain.layers)), null, 'a stale addon would drop nothing');
        assert.notEqual(withoutAddonEntry('cnnStepConvDropout', () => nativeCnnStep(chain.layers.map((l): ChainLayer => (l.kind === 'conv' ? { ...l, keep: undefined } : l)))), null);
        model.dispose();
      });
    });
  }

  for (const threads of [1, 2]) {
    it(`batch normalisation: the step moves the moving statistics as a training call on the tape does (${threads} worker(s)); an addon without it is not used`, async () => {
      await tf.setBackend('native');
      await withThreads(threads, () => {
        const [ours, tape] = [build('vgg-bn'), build('vgg-bn')];
        const chain = layerChain(ours)!;
        const b = batch(3);
        const { grads } = nativeCnnStep(chain.layers)!.gradients(b.images, b.labels, chain.variables.map((v) => v.variable), seedsAt(ours, chain.layers, 0), 0,
          chain.statistics.map((v) => v.variable));
        tf.dispose(grads);
        tf.tidy(() => tape.logits(tf.tensor2d(b.images, [BATCH, 784]), true, 0));
        for (const v of chain.statistics) {
          const expected = tape.store.get(v.name)!.variable.dataSync();
          assert.notDeepEqual(Array.from(expected), Array.from(build('vgg-bn').store.get(v.name)!.variable.dataSync()), `${v.name} moved`);
          assertClose(v.name, v.variable.dataSync(), expected);
        }
        assert.equal(withoutAddonEntry('cnnStepBatchNorm', () => nativeCnnStep(chain.layers)), null, 'a stale addon would not normalise');
        ours.dispose();
        tape.dispose();
      });
    });
  }

  for (const { name, optimizer, l2 = 0 } of CASES) {
    it(`${name}: follows the reference for 3 ${optimizer().name} steps${l2 ? ' with folded L2' : ''}: loss, gradients, updated weights and slots`, async () => {
      assert.equal(await lockstep(name, optimizer, l2, 3, 2), true, 'the whole step is taken on native');
    });
  }

  for (const [name, optimizer] of [['deep-cnn', () => createOptimizer('adam', { momentum: 0 })], ['mlp', () => createOptimizer('sgd', { momentum: 0 })]] as const) {
    it(`${name}: label smoothing 0.1 — the tape's smoothed loss and gradients, 3 ${optimizer().name} steps in lockstep`, async () => {
      assert.equal(await lockstep(name, optimizer, 1e-4, 3, 2, 0.1), true, 'the whole step is taken on native');
    });
  }

  it('label smoothing changes the loss and gradients the step computes; an addon without it is not given ε', async () => {
    await tf.setBackend('native');
    const model = build('fast-cnn');
    const chain = layerChain(model)!;
    const weights = chain.variables.map((v) => v.variable);
    const native = nativeCnnStep(chain.layers)!;
    const b = batch(2);
    const plain = native.gradients(b.images, b.labels, weights, []);
    const smoothed = native.gradients(b.images, b.labels, weights, [], 0.2);
    assert.ok(Math.abs(plain.loss - smoothed.loss) > 1e-3, `loss ${plain.loss} vs ${smoothed.loss}`);
    assert.ok(maxRelError(smoothed.grads[0].dataSync(), plain.grads[0].dataSync()) > 1e-3, 'conv1 gradient moved');
    tf.dispose([...plain.grads, ...smoothed.grads]);
    assert.throws(() => native.gradients(b.images, b.labels, weights, [], 1), /label smoothing/);
    withoutAddonEntry('cnnStepSmoothing', () => {
      const adam = createOptimizer('adam', { momentum: 0 });
      assert.equal(wholeStepFor(build('fast-cnn'), adam, 0.1), null, 'an older addon: the tape smooths instead');
      assert.notEqual(wholeStepFor(build('fast-cnn'), adam, 0), null, 'and still runs unsmoothed steps');
    });
    model.dispose();
  });

  it('draws dropout masks from (seed, step) alone: keep·n survivors scaled by 1/keep, the same at the same step', async () => {
    await tf.setBackend('native');
    const mask = nativeDropoutMask(42, 100, 1000, 0.5)!;
    const kept = mask.filter((x) => x !== 0);
    assert.ok(kept.every((x) => x === 2), 'survivors are scaled by 1/keep');
    assert.ok(Math.abs(kept.length / mask.length - 0.5) < 0.01, `kept ${kept.length} of ${mask.length}`);
    assert.deepEqual(nativeDropoutMask(42, 100, 1000, 0.5), mask, 'the same seed, the same mask');
    assert.notDeepEqual(nativeDropoutMask(43, 100, 1000, 0.5), mask, 'another seed, another mask');
    const trained = (step: number) => {
      const model = build('deep-cnn');
      const optimizer = createOptimizer('adam', { momentum: 0 });
      gradientStep(model, optimizer, batch(0), 1e-3, step).dispose();
      const w = model.store.get('fc2/weights')!.variable.dataSync().slice();
      model.dispose();
      return w;
    };
    assert.deepEqual(trained(5), trained(5), 'a resumed run draws the masks the first run drew at that step');
    assert.notDeepEqual(trained(5), trained(6), 'another step, other masks');
  });

  it('moves the moving averages in the same call: shadow −= (1 − decay)·(shadow − w) at the updated weights', async () => {
    await tf.setBackend('native');
    const model = build('deep-cnn');
    const optimizer = createOptimizer('adam', { momentum: 0 });
    const ema = new ExponentialMovingAverage(0.99);
    const trainable = model.store.trainable();
    ema.createShadows(trainable);
    optimizer.createSlots(trainable);
    trainingStep(model, optimizer, ema, batch(0), 1e-3, 0);
    const before = trainable.map((v) => ema.shadowOf(v).dataSync().slice());
    trainingStep(model, optimizer, ema, batch(1), 1e-3, 1);
    const oneMinusDecay = ema.oneMinusDecay(2);
    trainable.forEach((v, i) => {
      const w = v.variable.dataSync();
      const expected = before[i].map((s, j) => s - oneMinusDecay * (s - w[j]));
      assertClose(`moving average of ${v.name}`, ema.shadowOf(v).dataSync(), expected);
      assert.notDeepEqual(ema.shadowOf(v).dataSync(), before[i], `${v.name}'s average moved`);
    });
    model.dispose();
  });

  it('is not used where it does not apply; the tape path runs instead', async () => {
    await tf.setBackend('native');
    const adam = () => createOptimizer('adam', { momentum: 0, beta1: 0.7, beta2: 0.9 });
    const cases: Array<[string, Model, Optimizer]> = [
      ['momentum', build('fast-cnn'), createOptimizer('momentum', { momentum: 0.9 })],
      ['an L1 loss', Model.build(getModelDefinition('fast-cnn'), { regularizer: l1Regularizer(1e-4) }), adam()],
      ['a padded input', build('lenet5'), adam()],
    ];
    for (const [what, model, optimizer] of cases) assert.equal(wholeStepFor(model, optimizer), null, what);
    process.env.MNIST_WHOLE_STEP = '0';
    try {
      assert.equal(wholeStepFor(build('fast-cnn'), adam()), null, 'MNIST_WHOLE_STEP=0');
      const model = build('fast-cnn');
      const optimizer = adam();
      const loss = gradientStep(model, optimizer, batch(0), 0.01);
      assert.ok(Number.isFinite(loss.dataSync()[0]));
      assert.equal(optimizer.slots().get('beta1_power')!.dataSync()[0].toFixed(4), (0.7 * 0.7).toFixed(4));
      loss.dispose();
    } finally {
      delete process.env.MNIST_WHOLE_STEP;
    }
    // An addon built before the whole step existed (a stale build) has no cnnStepPlan.
    withoutAddonEntry('cnnStepPlan', () => assert.equal(wholeStepFor(build('fast-cnn'), adam()), null, 'an addon without the whole step'));
    withoutAddonEntry('cnnStepDropoutMask', () => assert.equal(wholeStepFor(build('fast-cnn'), adam()), null, 'an addon with the fixed-network step of before'));
    assert.notEqual(wholeStepFor(build('fast-cnn'), adam()), null, 'back on');
    await tf.setBackend('cpu');
    assert.equal(wholeStepFor(build('fast-cnn'), adam()), null, 'cpu backend');
  });
});
