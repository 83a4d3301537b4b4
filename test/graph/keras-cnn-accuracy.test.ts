/**
 * The Keras CNN SavedModel (TensorFlow 2.10) on all 10,000 MNIST test images, preprocessed as it was
 * trained (`tf.keras.utils.normalize(x, axis=1)`): Keras's own `model.evaluate`, whose accumulators
 * were saved with the model (`keras_api/metrics/1/total` = 9939 of `count` = 10000), got 9,939 right.
 * Our inlined graph must agree to the image. On the native backend (a few seconds); skipped without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { IMAGE_PIXELS, loadMnist } from '../../src/data/mnist.js';
import { predictWithGraph } from '../../src/graph/predict-graph.js';
import { nativeSkip } from '../helpers/backends.js';
import { kerasNormalize } from '../helpers/keras-normalize.js';

const KERAS_CNN = path.join(import.meta.dirname, '../fixtures/saved_model_keras_mnist_cnn');

test("all 10,000 test images: exactly as many right as Keras's saved evaluate metrics say (9,939)", { skip: await nativeSkip() }, async () => {
  const reader = CheckpointReader.open(path.join(KERAS_CNN, 'variables/variables'));
  const kerasCorrect = (reader.tensor('keras_api/metrics/1/total/.ATTRIBUTES/VARIABLE_VALUE').data as Float32Array)[0];
  const { test: split } = loadMnist({});
  const images = Array.from({ length: split.count }, (_, i) => kerasNormalize(split.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS)));
  const predictions = await predictWithGraph(KERAS_CNN, images);
  const correct = predictions.reduce((n, p, i) => n + (p.digit === split.labels[i] ? 1 : 0), 0);
  assert.equal(split.count, 10000);
  assert.equal(kerasCorrect, 9939);
  assert.equal(correct, kerasCorrect);
});
