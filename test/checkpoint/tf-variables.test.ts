import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/errors.js';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { Saver } from '../../src/checkpoint/saver.js';
import { int64Scalar, restoreVariables, tensorsToCheckpoint } from '../../src/checkpoint/tf-variables.js';
import { tempDir } from './helpers/tmp.js';

const v1v2 = fileURLToPath(new URL('../fixtures/ckpt_v1_v2/model.ckpt', import.meta.url));

test('restores the TensorFlow-written book example: v1 + v2 = 3', () => {
  const v1 = tf.variable(tf.zeros([1]), true, 'v1');
  const v2 = tf.variable(tf.zeros([1]), true, 'v2');
  assert.deepEqual(restoreVariables(CheckpointReader.open(v1v2), { v1, v2 }), ['v1', 'v2']);
  assert.deepEqual(Array.from(tf.add(v1, v2).dataSync()), [3]);
});

test('save tfjs tensors of every tfjs dtype, then restore all, a subset, renamed and EMA', async () => {
  const dir = tempDir('tfvars');
  const weights = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, 'layer1/weights');
  const named = {
    'layer1/weights': weights,
    'layer1/weights/ExponentialMovingAverage': tf.tensor2d([[0.5, 1.5], [2.5, 3.5]]),
    counts: tf.tensor1d([7, -8], 'int32'),
    mask: tf.tensor1d([true, false, true], 'bool'),
    labels: tf.tensor1d(['zero', 'ünï'], 'string'),
    global_step: int64Scalar(1234),
  };
  const ckpt = await tensorsToCheckpoint(named);
  assert.deepEqual(ckpt.get('mask'), { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) });
  assert.equal(ckpt.get('labels')!.dtype, 'string');
  const prefix = await new Saver().save(path.join(dir, 'model.ckpt'), ckpt, { globalStep: 1234 });
  const reader = CheckpointReader.open(dir);
  assert.equal(reader.prefix, prefix);
  assert.deepEqual(reader.info('global_step'), { dtype: 'int64', shape: [] });

  // All (fresh variables under the same names).
  const w = tf.variable(tf.zeros([2, 2]));
  const counts = tf.variable(tf.zeros([2], 'int32'), true, undefined, 'int32');
  const mask = tf.variable(tf.zeros([3], 'bool'), true, undefined, 'bool');
  const step = tf.variable(tf.scalar(0, 'int32'), false, undefined, 'int32');
  restoreVariables(reader, { 'layer1/weights': w, counts, mask, global_step: step });
  assert.deepEqual(Array.from(w.dataSync()), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(counts.dataSync()), [7, -8]);
  assert.deepEqual(Array.from(mask.dataSync()), [1, 0, 1]);
  assert.equal(step.dataSync()[0], 1234);

  // Renamed: load "counts" into a variable that has another name.
  const other = tf.variable(tf.zeros([2], 'int32'), true, 'other', 'int32');
  restoreVariables(reader, { counts: other });
  assert.deepEqual(Array.from(other.dataSync()), [7, -8]);

  // EMA: shadow values into the plain variable.
  const plain = tf.variable(tf.zeros([2, 2]));
  restoreVariables(reader, { 'layer1/weights/ExponentialMovingAverage': plain });
  assert.deepEqual(Array.from(plain.dataSync()), [0.5, 1.5, 2.5, 3.5]);
});

test('missing names, wrong dtypes and wrong shapes fail without changing any variable', () => {
  const reader = CheckpointReader.open(v1v2);
  const a = tf.variable(tf.tensor1d([9]));
  const message = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof UserError);
      return err.message;
    }
    throw new Error('expected an error');
  };
  assert.match(message(() => restoreVariables(reader, { v1: a, v7: tf.variable(tf.zeros([1])), w: tf.variable(tf.zeros([1])) })), /model\.ckpt: not found in checkpoint: v7, w$/);
  assert.match(message(() => restoreVariables(reader, { v1: a, v2: tf.variable(tf.zeros([2])) })), /tensor "v2" has shape \[1\] in the checkpoint but the model's variable has shape \[2\]/);
  assert.match(message(() => restoreVariables(reader, { v1: a, v2: tf.variable(tf.zeros([1], 'int32'), true, undefined, 'int32') })), /tensor "v2" is float32 in the checkpoint but the model's variable is int32/);
  assert.deepEqual(Array.from(a.dataSync()), [9], 'v1 untouched after failed restores');
  assert.deepEqual(restoreVariables(reader, { v1: a, missing: tf.variable(tf.zeros([1])) }, { allowMissing: true }), ['v1']);
  assert.deepEqual(Array.from(a.dataSync()), [1]);
});

test('an int64 that does not fit an int32 variable is refused', async () => {
  const dir = tempDir('tfvars-int64');
  await new Saver().save(path.join(dir, 'm.ckpt'), await tensorsToCheckpoint({ big: int64Scalar(2n ** 40n) }));
  const v = tf.variable(tf.scalar(0, 'int32'), false, undefined, 'int32');
  assert.throws(() => restoreVariables(CheckpointReader.open(dir), { big: v }), /int64 value 1099511627776 does not fit/);
});

test('uint8, int16 and int8 tensors restore into int32 variables', async () => {
  const dir = tempDir('tfvars-small-ints');
  await new Saver().save(path.join(dir, 'm.ckpt'), await tensorsToCheckpoint({
    u8: { dtype: 'uint8', shape: [2], data: Uint8Array.from([0, 255]) },
    i16: { dtype: 'int16', shape: [2], data: Int16Array.from([-32768, 32767]) },
    i8: { dtype: 'int8', shape: [2], data: Int8Array.from([-128, 127]) },
  }));
  const vars = { u8: tf.variable(tf.zeros([2], 'int32')), i16: tf.variable(tf.zeros([2], 'int32')), i8: tf.variable(tf.zeros([2], 'int32')) };
  restoreVariables(CheckpointReader.open(dir), vars);
  assert.deepEqual([...vars.u8.dataSync()], [0, 255]);
  assert.deepEqual([...vars.i16.dataSync()], [-32768, 32767]);
  assert.deepEqual([...vars.i8.dataSync()], [-128, 127]);
  Object.values(vars).forEach((v) => v.dispose());
});
