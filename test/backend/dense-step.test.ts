import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { nativeBackend } from '../../src/backend/variable-memory.js';
import { denseStepFor } from '../../src/backend/dense-step.js';
import { denseChain } from '../../src/models/dense-chain.js';
import { Model, type ModelDefinition } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import { sparseSoftmaxCrossEntropyReference } from '../../src/train/loss.js';
import { createOptimizer } from '../../src/train/optimizers.js';
import { gradientStep, trainingStep } from '../../src/train/train.js';
import { constant, truncatedNormal } from '../../src/variables/initializers.js';
import { l2Regularizer } from '../../src/variables/regularizers.js';
import { nativeSkip } from '../helpers/backends.js';
import { maxRelError, randomValues } from './parity-helpers.js';

const skip = await nativeSkip();
const hasAvx512 = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

/** A dense chain of any size: k → h ReLU → c (odd sizes exercise the kernels' partial vectors). */
function chainModel(k: number, h: number, c: number): ModelDefinition {
  return {
    name: `chain-${k}-${h}-${c}`,
    description: 'test chain',
    defaults: {},
    build(b, { regularizer }) {
      const x = b.placeholder('x', [null, k]);
      const hidden = b.scope('layer1', () => {
        const w = b.variable('weights', [k, h], { initializer: truncatedNormal(0.1), regularizer });
        const bias = b.variable('biases', [h], { initializer: constant(0.01) });
        return b.relu(b.add2(b.matMul(x, w), bias));
      });
      const logits = b.scope('layer2', () => {
        const w = b.variable('weights', [h, c], { initializer: truncatedNormal(0.1), regularizer });
        const bias = b.variable('biases', [c], { initializer: constant(0.02) });
        return b.add2(b.matMul(hidden, w), bias);
      });
      return { input: x, logits };
    },
  };
}

/** MNIST-like: ≈80 % zeros, the rest in (0, 1]. */
function sparseBatch(n: number, k: number, c: number, seed: number) {
  const u = randomValues(n * k, seed, 0, 1);
  const images = u.map((v) => (v < 0.8 ? 0 : (v - 0.8) * 5));
  const labels = Int32Array.from(randomValues(n, seed + 1, 0, c), (v) => Math.floor(v));
  return { images, labels };
}

/**
 * The reference: TensorFlow.js differentiates cross-entropy + λ·Σw²/2 op by op, the update is
 * w -= lr·g as tensor ops, then the moving average's own update (ema.ts).
 */
function referenceStep(model: Model, ema: ExponentialMovingAverage, batch: { images: Float32Array; labels: Int32Array }, lr: number, l2: number, numUpdates: number): number {
  const vars = model.store.trainable();
  const k = vars[0].shape[0];
  const loss = tf.tidy(() => {
    const xs = tf.tensor2d(batch.images, [batch.labels.length, k]);
    const ys = tf.tensor1d(batch.labels, 'int32');
    const { value, grads } = tf.variableGrads(() => {
      let total = sparseSoftmaxCrossEntropyReference(model.logits(xs, true), ys);
      for (const v of vars.filter((e) => e.name.endsWith('weights'))) total = tf.add(total, tf.mul(l2 / 2, tf.sum(tf.square(v.variable))));
      return total as tf.Scalar;
    }, vars.map((v) => v.variable));
    for (const v of vars) v.variable.assign(tf.sub(v.variable, tf.mul(lr, grads[v.variable.name])));
    return value.dataSync()[0];
  });
  ema.apply(vars, numUpdates);
  return loss;
}

function countDenseSteps(): { calls: () => number; restore: () => void } {
  const addon = nativeBackend()!.addon;
  const original = addon.denseStep!;
  let calls = 0;
  addon.denseStep = (...args: Parameters<typeof original>) => {
    calls++;
    return original.apply(addon, args);
  };
  return { calls: () => calls, restore: () => void (addon.denseStep = original) };
}

describe('the book MLP\'s step in one native call (dense_step.cc) against the TensorFlow.js path', { skip }, () => {
  const cases: Array<{ k: number; h: number; c: number; n: number; threads: number; avx512: boolean }> = [];
  for (const avx512 of hasAvx512 ? [true, false] : [false]) {
    for (const threads of [1, 2]) {
      cases.push({ k: 784, h: 500, c: 10, n: 100, threads, avx512 });
      cases.push({ k: 29, h: 37, c: 3, n: 7, threads, avx512 });
    }
  }
  for (const { k, h, c, n, threads, avx512 } of cases) {
    it(`${k}→${h}→${c}, batch ${n}, ${threads} thread(s), ${avx512 ? 'AVX-512' : 'AVX2'}: loss, variables and EMA shadows over 6 steps within 1e-4`, async () => {
      await tf.setBackend('native');
      const l2 = 1e-3;
      const build = () => Model.build(chainModel(k, h, c), { seed: 5, regularizer: l2Regularizer(l2) });
      const [ours, reference] = [build(), build()];
      const [emaA, emaB] = [new ExponentialMovingAverage(0.99), new ExponentialMovingAverage(0.99)];
      emaA.createShadows(ours.store.trainable());
      emaB.createShadows(reference.store.trainable());
      const chain = denseChain(ours)!;
      const step = denseStepFor(chain.map((v) => v.variable), [l2, 0, l2, 0])!;
      step.threads = threads;
      step.allowAvx512 = avx512;
      for (let s = 0; s < 6; s++) {
        const batch = sparseBatch(n, k, c, 100 + s);
        const lr = 0.3 * 0.9 ** s;
        const loss = step.run(batch.images, batch.labels, lr, { shadows: chain.map((v) => emaA.shadowOf(v)), oneMinusDecay: emaA.oneMinusDecay(s + 1) });
        const expected = referenceStep(reference, emaB, batch, lr, l2, s + 1);
        assert.equal(step.isa, avx512 ? 'avx512' : 'avx2');
        assert.ok(Math.abs(loss - expected) <= 1e-4 * Math.abs(expected), `step ${s}: loss ${loss} vs ${expected}`);
        ours.store.trainable().forEach((v, i) => {
          const r = reference.store.trainable()[i];
          const w = maxRelError(v.variable.dataSync(), r.variable.dataSync());
          assert.ok(w <= 1e-4, `step ${s}: ${v.name} max relative error ${w}`);
          const e = maxRelError(emaA.shadowOf(v).dataSync(), emaB.shadowOf(r).dataSync());
          assert.ok(e <= 1e-4, `step ${s}: ${v.name} shadow max relative error ${e}`);
        });
      }
      // The training moved the weights: the comparison is not between two untouched models.
      const w1 = ours.store.trainable()[0].variable.dataSync();
      const initial = build().store.trainable()[0].variable.dataSync();
      assert.ok(maxRelError(w1, initial) > 1e-3);
    });
  }

  it('mnist train\'s step (trainingStep) runs the book MLP in one call and matches the tfjs path with the native step switched off', async () => {
    await tf.setBackend('native');
    const build = () => Model.build(getModelDefinition('mlp'), { seed: 2, regularizer: l2Regularizer(1e-4) });
    const [ours, reference] = [build(), build()];
    const [emaA, emaB] = [new ExponentialMovingAverage(0.99), new ExponentialMovingAverage(0.99)];
    const [optA, optB] = [createOptimizer('sgd', { momentum: 0 }), createOptimizer('sgd', { momentum: 0 })];
    const counter = countDenseSteps();
    try {
      for (let s = 0; s < 4; s++) {
        const batch = sparseBatch(100, 784, 10, 7 + s);
        const loss = trainingStep(ours, optA, emaA, batch, 0.8, s);
        process.env.MNIST_DENSE_STEP = '0';
        const expected = trainingStep(reference, optB, emaB, batch, 0.8, s);
        delete process.env.MNIST_DENSE_STEP;
        assert.ok(Math.abs(loss - expected) <= 1e-4 * Math.abs(expected), `step ${s}: loss ${loss} vs ${expected}`);
      }
      assert.equal(counter.calls(), 4, 'the native step ran for the first model only');
      for (const [i, v] of ours.store.trainable().entries()) {
        const r = reference.store.trainable()[i];
        assert.ok(maxRelError(v.variable.dataSync(), r.variable.dataSync()) <= 1e-4, v.name);
        const e = maxRelError(emaA.shadowOf(v).dataSync(), emaB.shadowOf(r).dataSync());
        assert.ok(e <= 1e-4, `${v.name} shadow: max relative error ${e}`);
      }
    } finally {
      counter.restore();
      delete process.env.MNIST_DENSE_STEP;
    }
  });

  it('falls back to the tfjs path without the addon\'s denseStep (an older build), on other backends, and for other models or optimizers', async () => {
    await tf.setBackend('native');
    const mlp = () => Model.build(getModelDefinition('mlp'), { seed: 1, regularizer: l2Regularizer(1e-4) });
    const batch = sparseBatch(100, 784, 10, 3);
    const addon = nativeBackend()!.addon;
    const original = addon.denseStep;
    try {
      addon.denseStep = undefined;
      const model = mlp();
      assert.equal(denseStepFor(denseChain(model)!.map((v) => v.variable), []), null);
      const loss = gradientStep(model, createOptimizer('sgd', { momentum: 0 }), batch, 0.1);
      assert.ok(Number.isFinite(loss.dataSync()[0]));
      loss.dispose();
    } finally {
      addon.denseStep = original;
    }
    await tf.setBackend('cpu');
    try {
      const model = mlp();
      assert.equal(denseStepFor(denseChain(model)!.map((v) => v.variable), []), null, 'not on cpu');
      gradientStep(model, createOptimizer('sgd', { momentum: 0 }), batch, 0.1).dispose();
    } finally {
      await tf.setBackend('native');
    }
    const counter = countDenseSteps();
    try {
      gradientStep(mlp(), createOptimizer('momentum', { momentum: 0.9 }), batch, 0.1).dispose();
      gradientStep(mlp(), createOptimizer('adam', { momentum: 0 }), batch, 0.001).dispose();
      assert.equal(counter.calls(), 0, 'momentum and Adam take the tfjs path');
      gradientStep(mlp(), createOptimizer('sgd', { momentum: 0 }), batch, 0.1).dispose();
      assert.equal(counter.calls(), 1, 'SGD takes the native step');
    } finally {
      counter.restore();
    }
  });

  it('denseChain finds the book MLP\'s four variables and nothing in other models', () => {
    assert.deepEqual(denseChain(Model.build(getModelDefinition('mlp')))?.map((v) => v.name), ['layer1/weights', 'layer1/biases', 'layer2/weights', 'layer2/biases']);
    for (const name of ['softmax', 'book-cnn', 'deep-cnn']) assert.equal(denseChain(Model.build(getModelDefinition(name))), null, name);
  });

  it('rejects a batch whose images and labels disagree with one line', () => {
    const model = Model.build(getModelDefinition('mlp'));
    const step = denseStepFor(denseChain(model)!.map((v) => v.variable), [])!;
    assert.throws(() => step.run(new Float32Array(784 * 3), new Int32Array(2), 0.1), /a batch of 2 labels needs 1568 input values, got 2352/);
  });
});
