import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { nativeCnnStep } from '../../src/backend/cnn-step.js';
import { nativeBackend } from '../../src/backend/optimizers.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { createOptimizer, type Optimizer } from '../../src/train/optimizers.js';
import { gradientStep } from '../../src/train/train.js';
import { cnnStepShape, wholeStepFor } from '../../src/train/whole-step.js';
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

/**
 * `steps` Adam steps of fast-cnn on native, taken by the whole step and by the reference path (the
 * gradient tape, whose kernels test/backend/*parity* check against the cpu backend, itself too
 * slow for fast-cnn's batches) from the same state each time: before every step the whole step's
 * run gets the reference run's variables, so an error cannot grow through Adam's division by √v
 * from one step to the next. Calls `check` after each step with both losses and states.
 */
async function lockstep(steps: number, threads: number,
  check: (step: number, ours: { loss: number; state: Map<string, tf.Variable> }, reference: typeof ours) => void): Promise<boolean> {
  await tf.setBackend('native');
  return withThreads(threads, () => {
    const ours = { model: fastCnn(), optimizer: adam() };
    const reference = { model: fastCnn(), optimizer: adam() };
    for (const r of [ours, reference]) r.optimizer.createSlots(r.model.store.trainable());
    const whole = wholeStepFor(ours.model, ours.optimizer) !== null;
    process.env.MNIST_WHOLE_STEP = '0';
    try {
      assert.equal(wholeStepFor(reference.model, reference.optimizer), null);
    } finally {
      delete process.env.MNIST_WHOLE_STEP;
    }
    const [a, b] = [stateOf(ours.model, ours.optimizer), stateOf(reference.model, reference.optimizer)];
    for (let step = 0; step < steps; step++) {
      for (const [name, v] of b) a.get(name)!.assign(v.clone());
      const lr = (0.01 * (step + 1)) / steps;
      const losses = [ours, reference].map((r) => {
        const loss = gradientStep(r.model, r.optimizer, batch(step), lr, step);
        const value = loss.dataSync()[0];
        loss.dispose();
        return value;
      });
      check(step, { loss: losses[0], state: a }, { loss: losses[1], state: b });
    }
    for (const r of [ours, reference]) {
      r.model.dispose();
      r.optimizer.dispose();
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
    it(`takes the reference path's Adam steps: losses, updated weights and slots (${threads} worker(s))`, async () => {
      const whole = await lockstep(4, threads, (step, ours, reference) => {
        assert.ok(Math.abs(ours.loss - reference.loss) <= TOLERANCE * Math.abs(reference.loss), `step ${step}: loss ${ours.loss} vs ${reference.loss}`);
        for (const [name, v] of reference.state) assertClose(`step ${step}: ${name}`, ours.state.get(name)!.dataSync(), v.dataSync());
      });
      assert.equal(whole, true, 'the whole step is taken on native');
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
    await tf.setBackend('cpu');
    assert.equal(wholeStepFor(fastCnn(), adam()), null, 'cpu backend');
  });
});
