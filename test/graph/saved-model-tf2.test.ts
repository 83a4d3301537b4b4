/**
 * TensorFlow 2 SavedModels written by real TensorFlow: TensorFlow Serving's half_plus_two
 * (`tf.saved_model.save` of a tf.Module, TF 2.14) and a Keras MNIST CNN with batch normalization
 * (`model.save`, TF 2.10). Outputs are checked against values derived without our graph code: the
 * variables read straight from the checkpoint by their object-path keys, and the CNN computed by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { IMAGE_PIXELS, loadMnist } from '../../src/data/mnist.js';
import { UserError } from '../../src/errors.js';
import { describeSavedModel, openSavedModelSignature, readSavedModel } from '../../src/graph/saved-model.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';
import { runCli } from '../helpers/cli.js';
import { kerasNormalize } from '../helpers/keras-normalize.js';

const FIXTURES = path.join(import.meta.dirname, '../fixtures');
const HALF_TWO = path.join(FIXTURES, 'saved_model_half_plus_two_tf2');
const KERAS_CNN = path.join(FIXTURES, 'saved_model_keras_mnist_cnn');
const userError = (pattern: RegExp) => (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n');

async function runSignature(dir: string, signature: string | undefined, feeds: Record<string, tf.Tensor>): Promise<Record<string, Float32Array>> {
  const opened = openSavedModelSignature(dir, { signature });
  const model = FrozenGraph.load(opened.graph, opened.model.file);
  try {
    const inputs = Object.fromEntries(opened.inputs.map((i) => [i.tensor, feeds[i.key]]));
    const results = await model.run(inputs, opened.outputs.map((o) => o.tensor));
    const out = Object.fromEntries(opened.outputs.map((o, i) => [o.key, results[i].dataSync() as Float32Array]));
    tf.dispose(results);
    return out;
  } finally {
    model.dispose();
  }
}

const scalar = (reader: CheckpointReader, key: string) => (reader.tensor(key).data as Float32Array)[0];

test("TF Serving's TF 2 half_plus_two: signatures and variables by object path", () => {
  const lines = describeSavedModel(readSavedModel(HALF_TWO));
  assert.ok(lines.includes('tags [serve]: 29 nodes calling 14 functions, TensorFlow 2.14.0'), lines.join('\n'));
  assert.ok(lines.includes('    input x: serving_default_x:0 float [1]'));
  assert.ok(lines.includes('    output y: StatefulPartitionedCall_5:0 float [1]'));
  assert.ok(lines.includes('    output __saved_model_init_op: NoOp (an op to run, not a tensor)'));
  assert.ok(lines.includes('  a/.ATTRIBUTES/VARIABLE_VALUE  float32  []  = a'));
  assert.ok(!lines.some((l) => l.includes('_CHECKPOINTABLE_OBJECT_GRAPH')));
});

test('half_plus_two: serving_default is a·x + b and regress_x2_to_y3 a·x + c, with a, b, c read from the checkpoint', async () => {
  const reader = CheckpointReader.open(path.join(HALF_TWO, 'variables/variables'));
  const [a, b, c] = ['a', 'b', 'c'].map((v) => scalar(reader, `${v}/.ATTRIBUTES/VARIABLE_VALUE`));
  assert.deepEqual([a, b, c], [0.5, 2, 3]);
  const x = tf.tensor1d([1.5]);
  assert.deepEqual(Array.from((await runSignature(HALF_TWO, undefined, { x })).y), [a * 1.5 + b]);
  assert.deepEqual(Array.from((await runSignature(HALF_TWO, 'regress_x2_to_y3', { inputs: x })).outputs), [a * 1.5 + c]);
  x.dispose();
});

test('half_plus_two: a signature parsing tf.Examples names the op TensorFlow.js lacks, on one line', async () => {
  const opened = openSavedModelSignature(HALF_TWO, { signature: 'regress_x_to_y' });
  const model = FrozenGraph.load(opened.graph, opened.model.file);
  const serialized = tf.tensor1d(['not parsed'], 'string');
  await assert.rejects(model.run({ [opened.inputs[0].tensor]: serialized }, [opened.outputs[0].tensor]), userError(/saved_model\.pb: op ParseExampleV2 \(node "StatefulPartitionedCall_3\/.*ParseExampleV2"\) is not supported by TensorFlow\.js's graph executor$/));
  serialized.dispose();
  model.dispose();
  assert.throws(() => openSavedModelSignature(HALF_TWO, { signature: 'predict' }), userError(/no signature "predict" in the \[serve\] graph \(signatures: __saved_model_init_op, classify_x2_to_y3, .*serving_default; choose with --signature\)$/));
});

// --- The Keras CNN, computed by hand from its checkpoint -------------------------------------

type Weights = (key: string) => Float32Array;

function conv3x3Relu(input: Float32Array, size: number, channels: number, kernel: Float32Array, bias: Float32Array): Float32Array {
  const filters = bias.length;
  const out = size - 2;
  const result = new Float32Array(out * out * filters);
  for (let y = 0; y < out; y++)
    for (let x = 0; x < out; x++)
      for (let f = 0; f < filters; f++) {
        let sum = bias[f];
        for (let dy = 0; dy < 3; dy++)
          for (let dx = 0; dx < 3; dx++)
            for (let c = 0; c < channels; c++) sum += input[((y + dy) * size + x + dx) * channels + c] * kernel[((dy * 3 + dx) * channels + c) * filters + f];
        result[(y * out + x) * filters + f] = Math.max(0, sum);
      }
  return result;
}

function batchNorm(input: Float32Array, channels: number, w: Weights, layer: number): Float32Array {
  const key = (v: string) => `layer_with_weights-${layer}/${v}/.ATTRIBUTES/VARIABLE_VALUE`;
  const [gamma, beta, mean, variance] = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((v) => w(key(v)));
  // Keras's default epsilon, 0.001.
  return input.map((v, i) => {
    const c = i % channels;
    return (gamma[c] * (v - mean[c])) / Math.sqrt(variance[c] + 0.001) + beta[c];
  });
}

function maxPool2(input: Float32Array, size: number, channels: number): Float32Array {
  const out = Math.floor(size / 2);
  const result = new Float32Array(out * out * channels);
  for (let y = 0; y < out; y++)
    for (let x = 0; x < out; x++)
      for (let c = 0; c < channels; c++) {
        const at = (dy: number, dx: number) => input[((2 * y + dy) * size + 2 * x + dx) * channels + c];
        result[(y * out + x) * channels + c] = Math.max(at(0, 0), at(0, 1), at(1, 0), at(1, 1));
      }
  return result;
}

function dense(input: Float32Array, kernel: Float32Array, bias: Float32Array): Float32Array {
  const out = bias.length;
  return bias.map((b, j) => input.reduce((sum, v, i) => sum + v * kernel[i * out + j], b));
}

/** Conv(32)→BN→pool→Conv(64)→BN→pool→Conv(64)→BN→flatten→Dense(128, relu)→Dense(10, softmax); dropout is off. */
function kerasCnnByHand(image: Float32Array, w: Weights): number[] {
  const k = (layer: number, v: string) => w(`layer_with_weights-${layer}/${v}/.ATTRIBUTES/VARIABLE_VALUE`);
  let a = conv3x3Relu(image, 28, 1, k(0, 'kernel'), k(0, 'bias'));
  a = maxPool2(batchNorm(a, 32, w, 1), 26, 32);
  a = conv3x3Relu(a, 13, 32, k(2, 'kernel'), k(2, 'bias'));
  a = maxPool2(batchNorm(a, 64, w, 3), 11, 64);
  a = batchNorm(conv3x3Relu(a, 5, 64, k(4, 'kernel'), k(4, 'bias')), 64, w, 5);
  const hidden = dense(a, k(6, 'kernel'), k(6, 'bias')).map((v) => Math.max(0, v));
  const logits = Array.from(dense(hidden, k(7, 'kernel'), k(7, 'bias')));
  const top = Math.max(...logits);
  const exp = logits.map((v) => Math.exp(v - top));
  const total = exp.reduce((s, v) => s + v, 0);
  return exp.map((v) => v / total);
}

test('Keras CNN with batch normalization: the inlined graph gives the probabilities computed by hand from the checkpoint', async () => {
  const reader = CheckpointReader.open(path.join(KERAS_CNN, 'variables/variables'));
  const weights: Weights = (key) => reader.tensor(key).data as Float32Array;
  const { test: split } = loadMnist({ limit: 5 });
  const images = Array.from({ length: 4 }, (_, i) => kerasNormalize(split.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS)));
  const batch = tf.tensor4d(Float32Array.from(images.flatMap((img) => Array.from(img))), [images.length, 28, 28, 1]);
  const { dense_1: probabilities } = await runSignature(KERAS_CNN, undefined, { conv2d_input: batch });
  batch.dispose();
  images.forEach((img, i) => {
    const expected = kerasCnnByHand(img, weights);
    const got = Array.from(probabilities.subarray(i * 10, (i + 1) * 10));
    const diff = Math.max(...got.map((p, d) => Math.abs(p - expected[d])));
    assert.ok(diff < 1e-5, `image ${i}: max |graph − by hand| = ${diff}`);
    assert.equal(got.indexOf(Math.max(...got)), split.labels[i], `image ${i} is a ${split.labels[i]}`);
  });
});

test("Keras CNN: the opened graph is plain (no calls, no resource ops) and Keras's own saved metrics are readable", () => {
  const opened = openSavedModelSignature(KERAS_CNN);
  const ops = new Set(opened.graph.node.map((n) => n.op));
  for (const op of ['StatefulPartitionedCall', 'PartitionedCall', 'VarHandleOp', 'ReadVariableOp', 'NoOp']) assert.ok(!ops.has(op), `no ${op} left`);
  assert.ok(ops.has('FusedBatchNormV3') && ops.has('Conv2D') && ops.has('Softmax'));
  assert.deepEqual(opened.inputs.map((i) => [i.key, i.shape]), [['conv2d_input', [-1, 28, 28, 1]]]);
  // model.evaluate's accumulators, saved with the model: 9,939 of 10,000 right (the README's 0.9939).
  const reader = CheckpointReader.open(path.join(KERAS_CNN, 'variables/variables'));
  assert.equal(scalar(reader, 'keras_api/metrics/1/total/.ATTRIBUTES/VARIABLE_VALUE'), 9939);
  assert.equal(scalar(reader, 'keras_api/metrics/1/count/.ATTRIBUTES/VARIABLE_VALUE'), 10000);
});

test('CLI: inspect, run-graph by signature key and predict --graph on the Keras SavedModel', () => {
  let r = runCli(['inspect', KERAS_CNN]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /tags \[serve\]: 133 nodes calling 63 functions, TensorFlow 2\.10\.0\n/);
  assert.match(r.stdout, /input conv2d_input: serving_default_conv2d_input:0 float \[\?, 28, 28, 1\]\n {4}output dense_1: StatefulPartitionedCall:0 float \[\?, 10\]/);
  assert.match(r.stdout, /^ {2}layer_with_weights-0\/kernel\/\.ATTRIBUTES\/VARIABLE_VALUE {2}float32 {2}\[3, 3, 1, 32\] {2}= conv2d\/kernel$/m);
  const digit = path.join(FIXTURES, 'real-digits/thick-7.png');
  r = runCli(['run-graph', KERAS_CNN, '--input', `conv2d_input=${digit}`, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { dense_1: out } = JSON.parse(r.stdout) as Record<string, { dtype: string; shape: number[]; values: number[][] }>;
  assert.deepEqual([out.dtype, out.shape], ['float32', [1, 10]]);
  assert.equal(out.values[0].indexOf(Math.max(...out.values[0])), 7);
  r = runCli(['predict', '--graph', KERAS_CNN, digit]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /thick-7\.png: 7 /);
});

test('CLI: run-graph on the TF 2 half_plus_two prints by key; an unsupported op is named before any input is read', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tf2-saved-model-'));
  writeFileSync(path.join(dir, 'x.json'), '[1.5]');
  let r = runCli(['run-graph', HALF_TWO, '--input', `x=${path.join(dir, 'x.json')}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'y float32[1] [2.75]');
  r = runCli(['run-graph', HALF_TWO, '--signature', 'regress_x_to_y', '--input', `inputs=${path.join(dir, 'x.json')}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^error: .*saved_model\.pb: op ParseExampleV2 \(node "StatefulPartitionedCall_3\/StatefulPartitionedCall\/ParseExample\/ParseExampleV2"\) is not supported by TensorFlow\.js's graph executor$/m);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
