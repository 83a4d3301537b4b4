import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { Saver } from '../../src/checkpoint/saver.js';
import { loadMnist } from '../../src/data/mnist.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import { ValidationWatch } from '../../src/train/validate.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { tempDir } from '../checkpoint/helpers/tmp.js';

const backends = await backendsUnderTest();
const { validation } = loadMnist({ limit: 10 });
const small = { ...validation, count: 200, images: validation.images.subarray(0, 200 * 784), labels: validation.labels.subarray(0, 200) };

class SpySaver extends Saver {
  readonly calls: Array<string | null> = [];
  override preserve(prefix: string | null): void {
    this.calls.push(prefix);
    super.preserve(prefix);
  }
}

for (const backend of backends) test(`${backend}: validation uses the moving averages and puts the weights back exactly`, async () => {
  await tf.setBackend(backend);
  const model = Model.build(getModelDefinition('softmax'), { seed: 3 });
  const trainable = model.store.trainable();
  const ema = new ExponentialMovingAverage(0.99);
  ema.createShadows(trainable);
  // Shadows that differ from the weights: the weights scaled, so predictions differ too.
  for (const v of trainable) ema.shadowOf(v).assign(tf.mul(v.variable, -3));
  const before = trainable.map((v) => v.variable.dataSync().slice());
  const lines: string[] = [];
  const saver = new SpySaver();
  const modelDir = tempDir('validate');
  const watch = new ValidationWatch({ modelDir, checkpointBase: 'model.ckpt', validation: small, keepBest: true, patience: 1, log: (l) => lines.push(l) }, model, ema, saver);

  const verdict = watch.beforeSave(10);
  assert.deepEqual(verdict, { improved: true });
  trainable.forEach((v, i) => assert.deepEqual(v.variable.dataSync(), before[i], `${v.name} restored`));
  // The accuracy reported is the averaged model's, not the raw one's.
  const averaged = Model.build(getModelDefinition('softmax'), { seed: 3 });
  averaged.store.trainable().forEach((v, i) => v.variable.assign(ema.shadowOf(trainable[i])));
  assert.equal(lines[0], `After 10 training step(s), validation accuracy = ${evaluate(averaged, small).accuracy.toFixed(4)} (best so far)`);
  // The shadows are untouched, and the saver keeps the best checkpoint.
  trainable.forEach((v, i) => assert.deepEqual(ema.shadowOf(v).dataSync(), Float32Array.from(before[i], (x) => Math.fround(x * -3))));
  assert.deepEqual(saver.calls, [null, path.join(modelDir, 'model.ckpt-10')]);
  assert.match(watch.beforeSave(20).stop ?? '', /^Stopping early: validation accuracy has not improved for 1 evaluation \(best 0\.\d{4} at step 10, model\.ckpt-10\)\.$/);
  assert.deepEqual(saver.calls.at(-1), path.join(modelDir, 'model.ckpt-10'), 'the best stays preserved');
  model.dispose();
  averaged.dispose();
  ema.dispose();
});
