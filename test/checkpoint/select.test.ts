import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Saver } from '../../src/checkpoint/saver.js';
import { checkpointSteps, newestIntact, openCheckpoint, openForResume, selectCheckpoint } from '../../src/checkpoint/select.js';
import { UserError } from '../../src/errors.js';
import type { TensorValue } from '../../src/formats/tensor-value.js';
import { corruptTensor } from './helpers/damage.js';
import { tempDir } from './helpers/tmp.js';

function tensors(step: number): Map<string, TensorValue> {
  return new Map<string, TensorValue>([
    ['layer1/weights', { dtype: 'float32', shape: [64], data: new Float32Array(64).fill(step) }],
    ['layer1/weights/ExponentialMovingAverage', { dtype: 'float32', shape: [64], data: new Float32Array(64).fill(step / 2) }],
    ['global_step', { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(step)) }],
  ]);
}

async function modelDir(label: string, steps = [100, 200, 300]): Promise<string> {
  const dir = tempDir(label);
  const saver = new Saver();
  for (const step of steps) await saver.save(path.join(dir, 'model.ckpt'), tensors(step), { globalStep: step });
  return dir;
}

/** A one-line UserError whose message matches every pattern. */
function userError(...patterns: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof UserError, String(err));
    assert.doesNotMatch(err.message, /\n/);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

test('--checkpoint N is model.ckpt-N of the model directory; a path prefix or one of its files works too', async () => {
  const dir = await modelDir('select');
  assert.deepEqual(checkpointSteps(dir), [100, 200, 300]);
  assert.equal(selectCheckpoint(dir), path.join(dir, 'model.ckpt-300'));
  assert.equal(selectCheckpoint(dir, '200'), path.join(dir, 'model.ckpt-200'));
  assert.equal(selectCheckpoint(dir, path.join(dir, 'model.ckpt-100')), path.join(dir, 'model.ckpt-100'));
  assert.equal(selectCheckpoint(dir, path.join(dir, 'model.ckpt-100.index')), path.join(dir, 'model.ckpt-100'));
  assert.equal(selectCheckpoint(tempDir('other'), dir), path.join(dir, 'model.ckpt-300'), 'a directory: its newest');
  const opened = openCheckpoint(dir, '200');
  assert.deepEqual(opened.reader.tensor('global_step').data, BigInt64Array.of(200n));
});

test('a checkpoint that does not exist is a one-line error listing the steps there are', async () => {
  const dir = await modelDir('select-missing');
  assert.throws(() => selectCheckpoint(dir, '250'), userError(/^no checkpoint at step 250 \(.*model\.ckpt-250\.index does not exist\); available steps in .*: 100, 200, 300$/));
  assert.throws(() => selectCheckpoint(dir, path.join(dir, 'nope')), userError(/nope: no checkpoint here/, /available steps in .*: 100, 200, 300$/));
  assert.throws(() => selectCheckpoint(tempDir('select-empty'), '5'), userError(/no model\.ckpt-N checkpoints in/));
});

test('opening verifies every tensor: corrupt raw weights are reported though only the moving averages would be read', async () => {
  const dir = await modelDir('select-damaged');
  const file = corruptTensor(path.join(dir, 'model.ckpt-300'), 'layer1/weights');
  assert.throws(
    () => openCheckpoint(dir),
    userError(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tensor "layer1/weights": checksum mismatch`), /the newest intact checkpoint is model\.ckpt-200: use it with --checkpoint 200$/),
  );
  // Never a silent fallback, but the named one opens.
  assert.equal(openCheckpoint(dir, '200').prefix, path.join(dir, 'model.ckpt-200'));
  // Asked for by step, the damaged one is an error too.
  assert.throws(() => openCheckpoint(dir, '300'), userError(/checksum mismatch/, /--checkpoint 200/));
  // Two damaged: the newest intact is further back.
  corruptTensor(path.join(dir, 'model.ckpt-200'), 'layer1/weights/ExponentialMovingAverage');
  assert.deepEqual(newestIntact(dir, null), { step: 100, prefix: path.join(dir, 'model.ckpt-100') });
  assert.throws(() => openCheckpoint(dir), userError(/model\.ckpt-300\.data-00000-of-00001: tensor "layer1\/weights"/, /--checkpoint 100$/));
});

test('a state file naming a missing checkpoint, or a garbage one, says so and names the newest intact checkpoint', async () => {
  const dir = await modelDir('select-state');
  rmSync(path.join(dir, 'model.ckpt-300.index'));
  assert.throws(() => openCheckpoint(dir), userError(/model\.ckpt-300\.index: missing \(the newest checkpoint the "checkpoint" file names\); the newest intact checkpoint is model\.ckpt-200/));
  writeFileSync(path.join(dir, 'checkpoint'), '\u0000\u0001garbage\n');
  assert.throws(() => openCheckpoint(dir), userError(/checkpoint: not a text checkpoint state file \(binary data on line 1\)/, /use it with --checkpoint 200$/));
  rmSync(path.join(dir, 'checkpoint'));
  assert.throws(() => openCheckpoint(dir), userError(/checkpoint: missing, so the newest checkpoint is unknown; .*--checkpoint 200$/));
  assert.throws(() => openCheckpoint(tempDir('select-none')), userError(/no checkpoint found \(train first/));
});

test('a damaged checkpoint to resume from says how to resume from the newest intact one', async () => {
  const dir = await modelDir('select-resume');
  assert.equal(openForResume(path.join(dir, 'model.ckpt-300')).has('global_step'), true);
  corruptTensor(path.join(dir, 'model.ckpt-300'), 'layer1/weights/ExponentialMovingAverage');
  assert.throws(
    () => openForResume(path.join(dir, 'model.ckpt-300')),
    userError(/checksum mismatch at offset \d+ \(file corrupt\); the newest intact checkpoint is model\.ckpt-200: to resume from it, delete the model\.ckpt-300\.\* files and set model_checkpoint_path in .*checkpoint to "model\.ckpt-200"; or start over with --fresh$/),
  );
});
