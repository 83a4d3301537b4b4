import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { nativeCnnStep } from '../../src/backend/cnn-step.js';
import { nativeBackend } from '../../src/backend/variable-memory.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { createOptimizer, type Optimizer } from '../../src/train/optimizers.js';
import { gradientStep } from '../../src/train/train.js';
import { cnnStepShape } from '../../src/models/cnn-chain.js';
import { wholeStepFor } from '../../src/train/whole-step.js';
import { l2Regularizer } from '../../src/variables/regularizers.js';
import { maxRelError, nativeOrSkip, randomValues, TOLERANCE } from '../backend/parity-helpers.js';

const skip = nativeOrSkip();
const BATCH = 64;

function batch(step: number) {
  const images = randomValues(BATCH * 784, 1000 + step, 0, 1);
  const labels = Int32Array.from({ length: BATCH }, (_, i) => (i * 7 + step * 3) % 10);
  return { images, labels };
}

const fastCnn = (seed = 5) => Model.build(getModelDefinition('fast-cnn'), { seed });
const adam = () => createOptimizer('adam', { momentum: 0, beta1: 0.7, beta2: 0.9 });

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

/** Every variable of a training run (weights, Adam's slots and beta powers) by name. */
function stateOf(model: Model, optimizer: Optimizer): Map<string, tf.Variable> {
  const state = new Map<string, tf.Variable>();
  for (const v of model.store.trainable()) state.set(v.name, v.variable);
  for (const [name, s] of optimizer.slots()) state.set(name, s);
  return state;
}

/** The tape's loss and gradients (mean softmax cross-entropy) of `model` on a batch, in the variables' order. */
function tapeGradients(model: Model, b: { images: Float32Array; labels: Int32Array }): { loss: number; grads: Float32Array[] } {
  return tf.tidy(() => {
    const xs = tf.tensor2d(b.images, [b.labels.length, 784]);
    const ys = tf.tensor1d(b.labels, 'int32');
    const vars = model.store.trainable().map((v) => v.variable);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(tf.oneHot(ys, 10), model.logits(xs, true)) as tf.Scalar, vars);
    return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
  });
}

/**
 * `steps` Adam steps of fast-cnn on native along the reference path's trajectory (the gradient
 * tape, whose kernels test/backend/*parity* check against the cpu backend, itself too slow for
 * fast-cnn's batches). At every step, from the reference run's weights and slots: the whole step's
 * loss and gradients against the tape's, and the whole step's update against the reference Adam
 * (the optimizer's own apply()) fed the same gradients. Adam divides by √v, which magnifies float32
 * rounding in near-zero gradients, so the update is compared on equal gradients: the gradients and
 * the update are each checked to 1e-4, not their product through the division.
 */
async function lockstep(steps: number, threads: number): Promise<boolean> {
  await tf.setBackend('native');
  return withThreads(threads, () => {
    const run = () => ({ model: fastCnn(), optimizer: adam() });
    const [ours, expected, reference] = [run(), run(), run()];
    for (const r of [ours, expected, reference]) r.optimizer.createSlots(r.model.store.trainable());
    const whole = wholeStepFor(ours.model, ours.optimizer) !== null;
    process.env.MNIST_WHOLE_STEP = '0';
    try {
      assert.equal(wholeStepFor(reference.model, reference.optimizer), null);
    } finally {
      delete process.env.MNIST_WHOLE_STEP;
    }
    const native = nativeCnnStep(cnnStepShape(ours.model)!.shape)!;
    const [a, e, r] = [ours, expected, reference].map((x) => stateOf(x.model, x.optimizer));
    for (let step = 0; step < steps; step++) {
      for (const [name, v] of r) {
        a.get(name)!.assign(v.clone());
        e.get(name)!.assign(v.clone());
      }
      const b = batch(step);
      const lr = (0.01 * (step + 1)) / steps;
      const tape = tapeGradients(reference.model, b);
      const mine = native.gradients(b.images, b.labels, ours.model.store.trainable().map((v) => v.variable));
      assert.ok(Math.abs(mine.loss - tape.loss) <= TOLERANCE * tape.loss, `step ${step}: loss ${mine.loss} vs ${tape.loss}`);
      mine.grads.forEach((g, i) => assertClose(`step ${step}: gradient of ${ours.model.store.trainable()[i].name}`, g.dataSync(), tape.grads[i]));
      expected.optimizer.apply(expected.model.store.trainable(), mine.grads, lr);
      tf.dispose(mine.grads);
      const loss = gradientStep(ours.model, ours.optimizer, b, lr, step);
      assert.ok(Math.abs(loss.dataSync()[0] - tape.loss) <= TOLERANCE * tape.loss, `step ${step}: whole step's loss ${loss.dataSync()[0]} vs ${tape.loss}`);
      loss.dispose();
      for (const [name, v] of e) assertClose(`step ${step}: ${name}`, a.get(name)!.dataSync(), v.dataSync());
      gradientStep(reference.model, reference.optimizer, b, lr, step).dispose();
    }
    for (const x of [ours, expected, reference]) {
      x.model.dispose();
      x.optimizer.dispose();
    }
    return whole;
  });
}

describe('the whole native training step of fast-cnn', { skip }, () => {
  it('recognises fast-cnn\'s graph (and no other model\'s)', () => {
    assert.deepEqual(cnnStepShape(fastCnn())?.shape, { k1: 5, c1: 24, k2: 3, c2: 32, hidden: 256, classes: 10 });
    for (const name of ['mlp', 'deep-cnn', 'book-cnn', 'lenet5', 'vgg-cnn']) {
      assert.equal(cnnStepShape(Model.build(getModelDefinition(name))), undefined, name);
    }
  });

  for (const threads of [1, 2]) {
    it(`gives the tape's loss and gradients (${threads} worker(s))`, async () => {
      await tf.setBackend('native');
      const reference = fastCnn();
      const b = batch(0);
      const expected = tf.tidy(() => {
        const xs = tf.tensor2d(b.images, [BATCH, 784]);
        const ys = tf.tensor1d(b.labels, 'int32');
        const vars = reference.store.trainable().map((v) => v.variable);
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(tf.oneHot(ys, 10), reference.logits(xs, true)) as tf.Scalar, vars);
        return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
      });
      await tf.setBackend('native');
      await withThreads(threads, () => {
        const ours = fastCnn();
        const step = nativeCnnStep(cnnStepShape(ours)!.shape)!;
        const { loss, grads } = step.gradients(b.images, b.labels, ours.store.trainable().map((v) => v.variable));
        assert.ok(Math.abs(loss - expected.loss) <= TOLERANCE * Math.abs(expected.loss), `loss ${loss} vs ${expected.loss}`);
        grads.forEach((g, i) => assertClose(`gradient of ${ours.store.trainable()[i].name}`, g.dataSync(), expected.grads[i]));
        tf.dispose(grads);
      });
    });
  }

  for (const threads of [1, 2]) {
    it(`follows the reference path for 4 Adam steps: loss, gradients, updated weights and slots (${threads} worker(s))`, async () => {
      assert.equal(await lockstep(4, threads), true, 'the whole step is taken on native');
    });
  }

  it('is not used where it does not apply; the tape path runs instead', async () => {
    await tf.setBackend('native');
    const cases: Array<[string, Model, Optimizer]> = [
      ['sgd', fastCnn(), createOptimizer('sgd', { momentum: 0 })],
      ['L2', Model.build(getModelDefinition('fast-cnn'), { regularizer: l2Regularizer(1e-4) }), adam()],
      ['another model', Model.build(getModelDefinition('deep-cnn')), adam()],
    ];
    for (const [what, model, optimizer] of cases) assert.equal(wholeStepFor(model, optimizer), null, what);
    process.env.MNIST_WHOLE_STEP = '0';
    try {
      assert.equal(wholeStepFor(fastCnn(), adam()), null, 'MNIST_WHOLE_STEP=0');
      const model = fastCnn();
      const optimizer = adam();
      const loss = gradientStep(model, optimizer, batch(0), 0.01);
      assert.ok(Number.isFinite(loss.dataSync()[0]));
      assert.equal(optimizer.slots().get('beta1_power')!.dataSync()[0].toFixed(4), (0.7 * 0.7).toFixed(4));
      loss.dispose();
    } finally {
      delete process.env.MNIST_WHOLE_STEP;
    }
    // An addon built before the whole step existed (a stale build) has no cnnStepPlan.
    const addon = nativeBackend()!.addon as unknown as Record<string, unknown>;
    const plan = addon.cnnStepPlan;
    addon.cnnStepPlan = undefined;
    try {
      assert.equal(wholeStepFor(fastCnn(), adam()), null, 'an addon without the whole step');
    } finally {
      addon.cnnStepPlan = plan;
    }
    assert.notEqual(wholeStepFor(fastCnn(), adam()), null, 'back on');
    await tf.setBackend('cpu');
    assert.equal(wholeStepFor(fastCnn(), adam()), null, 'cpu backend');
  });
});
