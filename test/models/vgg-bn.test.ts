import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { describe, it } from '../helpers/requirements.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { freezeModel } from '../../src/graph/freeze.js';
import { execute } from '../../src/models/execute.js';
import { writeSavedModel } from '../../src/graph/saved-model-export.js';
import { writeTfjsModel } from '../../src/graph/tfjs-export.js';
import { openGraph } from '../../src/graph/load.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import { nativeOrSkip, randomValues } from '../backend/parity-helpers.js';

const BN = 'conv1_1/batch_normalization';
const images = () => tf.tensor2d(randomValues(4 * 784, 11, 0, 1), [4, 784]);

/** conv1_1's batch mean and unbiased variance on `x`, computed here from the filter. */
function firstLayerStatistics(model: Model, x: tf.Tensor2D): { mean: number[]; variance: number[] } {
  return tf.tidy(() => {
    const conv = tf.conv2d(tf.reshape(x, [-1, 28, 28, 1]) as tf.Tensor4D, model.store.get('conv1_1/weights')!.variable as tf.Tensor4D, 1, 'same');
    const { mean, variance } = tf.moments(conv, [0, 1, 2]);
    const n = conv.size / 32;
    return { mean: Array.from(mean.dataSync()), variance: Array.from(variance.dataSync(), (v) => (v * n) / (n - 1)) };
  });
}

const close = (actual: ArrayLike<number>, expected: number[], what: string) =>
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= 1e-5 + 1e-4 * Math.abs(e), `${what}[${i}]: ${actual[i]} vs ${e}`));

describe('vgg-bn: batch normalisation after each convolution', () => {
  it("has tf.layers.batch_normalization's variables: γ and β trained and averaged, the moving statistics neither", () => {
    const model = Model.build(getModelDefinition('vgg-bn'));
    const names = model.store.all().filter((v) => v.name.startsWith(`${BN}/`)).map((v) => `${v.name.slice(BN.length + 1)}:${v.trainable}`);
    assert.deepEqual(names, ['gamma:true', 'beta:true', 'moving_mean:false', 'moving_variance:false']);
    assert.equal(model.store.get('conv1_1/biases'), undefined, 'a normalised convolution has no bias');
    const restore = Object.keys(ExponentialMovingAverage.variablesToRestore(model.store.all()));
    assert.ok(restore.includes(`${BN}/gamma/ExponentialMovingAverage`) && restore.includes(`${BN}/moving_mean`));
    const frozen = freezeModel(model);
    const bn = frozen.node.find((n) => n.name === `${BN}/FusedBatchNormV3`)!;
    assert.equal(bn.op, 'FusedBatchNormV3');
    assert.equal(bn.attr?.is_training?.b, false, 'an inference graph normalises with the moving statistics');
    assert.deepEqual(bn.input, ['conv1_1/Conv2D', `${BN}/gamma/read`, `${BN}/beta/read`, `${BN}/moving_mean/read`, `${BN}/moving_variance/read`]);
    model.dispose();
  });

  it('its SavedModel and TensorFlow.js exports normalise with the moving statistics: the logits of the model in inference', async () => {
    await tf.setBackend('cpu');
    const model = Model.build(getModelDefinition('vgg-bn'), { seed: 4 });
    // Statistics far from the initial 0 and 1, so that ignoring them would show.
    model.store.all().filter((v) => v.name.includes('moving_')).forEach((v, i) =>
      v.variable.assign(tf.add(tf.abs(tf.randomNormal(v.shape, 0, 0.5, 'float32', 40 + i)), v.name.endsWith('variance') ? 0.5 : -0.3)));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-vgg-bn-'));
    try {
      writeSavedModel(model, path.join(dir, 'saved'));
      await writeTfjsModel(freezeModel(model), 'vgg-bn.pb', path.join(dir, 'tfjs'));
      const x = images();
      const expected = model.logits(x).dataSync();
      for (const target of [path.join(dir, 'saved'), path.join(dir, 'tfjs', 'model.json')]) {
        const [logits] = await FrozenGraph.load(openGraph(target), target).run({ 'x-input': x }, [`${model.output}:0`]);
        close(logits.dataSync(), Array.from(expected), target);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  for (const backend of ['cpu', 'native']) {
    it(`${backend}: a training call moves the moving statistics 1 % towards the batch's (unbiased variance); inference leaves them`, { skip: backend === 'native' && nativeOrSkip() }, async () => {
      await tf.setBackend(backend);
      const model = Model.build(getModelDefinition('vgg-bn'), { seed: 3 });
      const x = images();
      const { mean, variance } = firstLayerStatistics(model, x);
      tf.tidy(() => model.logits(x, false));
      close(model.store.get(`${BN}/moving_mean`)!.variable.dataSync(), mean.map(() => 0), 'moving mean after inference');
      tf.tidy(() => model.logits(x, true, 0));
      close(model.store.get(`${BN}/moving_mean`)!.variable.dataSync(), mean.map((m) => 0.01 * m), 'moving mean');
      close(model.store.get(`${BN}/moving_variance`)!.variable.dataSync(), variance.map((v) => 0.99 + 0.01 * v), 'moving variance');
      model.dispose();
    });

    it(`${backend}: the statistics a training call reports are the batch mean and the unbiased (n − 1) variance`, { skip: backend === 'native' && nativeOrSkip() }, async () => {
      await tf.setBackend(backend);
      const model = Model.build(getModelDefinition('vgg-bn'), { seed: 3 });
      const x = images();
      const expected = firstLayerStatistics(model, x);
      const reported = new Map<string, number[][]>();
      tf.tidy(() => execute(model.graph, { [model.input]: x }, [model.output], {
        training: true,
        variable: (name) => model.store.get(name)!.variable,
        batchStatistics: (node, mean, variance) => reported.set(node.name, [Array.from(mean.dataSync()), Array.from(variance.dataSync())]),
      }));
      assert.deepEqual([...reported.keys()], ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2'].map((l) => `${l}/batch_normalization/FusedBatchNormV3`));
      const [mean, variance] = reported.get(`${BN}/FusedBatchNormV3`)!;
      // n = 3,136 values a channel: the biased variance is 3e-4 smaller, well outside these bounds.
      expected.mean.forEach((m, i) => assert.ok(Math.abs(mean[i] - m) <= 1e-6 + 2e-5 * Math.abs(m), `mean[${i}]`));
      expected.variance.forEach((v, i) => assert.ok(Math.abs(variance[i] - v) <= 2e-5 * v, `variance[${i}]: ${variance[i]} vs ${v}`));
      model.dispose();
    });
  }
});
