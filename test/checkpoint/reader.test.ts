import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../src/errors.js';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { tempDir } from './helpers/tmp.js';

const fixtureDir = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

test('opens TensorFlow checkpoints by prefix, by file and by directory', () => {
  const v1v2 = path.join(fixtureDir('ckpt_v1_v2'), 'model.ckpt');
  for (const arg of [v1v2, `${v1v2}.index`, `${v1v2}.data-00000-of-00001`]) {
    const r = CheckpointReader.open(arg);
    assert.equal(r.prefix, v1v2);
    assert.deepEqual(r.names(), ['v1', 'v2']);
    assert.deepEqual(r.tensor('v1'), { dtype: 'float32', shape: [1], data: Float32Array.from([1]) });
    assert.deepEqual(r.tensor('v2').data, Float32Array.from([2]));
  }
  const adam = CheckpointReader.open(fixtureDir('ckpt_houseprices_adam'));
  assert.equal(adam.names().length, 34);
  assert.ok(adam.has('Variable_3/Adam_1'));
  assert.ok(!adam.has('Variable_12'));
  assert.deepEqual(adam.info('Variable_2'), { dtype: 'float32', shape: [100, 5] });
  const shapes = adam.variableToShapeMap();
  assert.deepEqual(shapes['Variable'], [8, 100]);
  assert.deepEqual(shapes['beta2_power'], []);
  assert.equal(adam.variableToDtypeMap()['Variable_6/Adam'], 'float32');
  adam.verifyAll();
  const w = adam.tensor('Variable_4');
  assert.equal(w.data.length, 25);
});

test('bad paths and names give one-line UserErrors', () => {
  const dir = tempDir('reader-paths');
  const err = (fn: () => unknown, pattern: RegExp): void => {
    assert.throws(fn, (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n'));
  };
  err(() => CheckpointReader.open(path.join(dir, 'nope.ckpt')), /nope\.ckpt: no checkpoint here \(.*nope\.ckpt\.index does not exist\)/);
  err(() => CheckpointReader.open(dir), /no checkpoint found in this directory/);
  const r = CheckpointReader.open(path.join(fixtureDir('ckpt_v1_v2'), 'model.ckpt'));
  err(() => r.tensor('v3'), /model\.ckpt: no tensor named "v3" in the checkpoint$/);
  err(() => r.info('v3'), /no tensor named "v3"/);
  // An index whose data file is missing.
  mkdirSync(path.join(dir, 'partial'));
  writeFileSync(path.join(dir, 'partial', 'model.ckpt.index'), new Uint8Array(0));
  err(() => CheckpointReader.open(path.join(dir, 'partial', 'model.ckpt')), /model\.ckpt\.index: file is too short/);
});
