import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BEST_FILE, BestTracker, readBestRecord } from '../../src/checkpoint/best.js';
import { deleteAllCheckpoints, Saver } from '../../src/checkpoint/saver.js';
import type { TensorValue } from '../../src/formats/tensor-value.js';
import { tempDir } from './helpers/tmp.js';

const one = (step: number) => new Map<string, TensorValue>([['global_step', { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(step)) }]]);

test('the best is the strictly highest accuracy; patience counts evaluations since it', () => {
  const t = new BestTracker({ modelDir: tempDir('best'), patience: 2 });
  assert.equal(t.bestPrefix(), null);
  assert.deepEqual(t.observe(10, 'model.ckpt-10', 0.9), { improved: true });
  assert.deepEqual(t.observe(20, 'model.ckpt-20', 0.95), { improved: true });
  assert.deepEqual(t.observe(30, 'model.ckpt-30', 0.95), { improved: false }, 'equal is no improvement');
  const verdict = t.observe(40, 'model.ckpt-40', 0.94);
  assert.equal(verdict.improved, false);
  assert.equal(verdict.stop, 'Stopping early: validation accuracy has not improved for 2 evaluations (best 0.9500 at step 20, model.ckpt-20).');
  assert.equal(t.best?.checkpoint, 'model.ckpt-20');
  assert.deepEqual(new BestTracker({ modelDir: tempDir('best-none') }).observe(1, 'a', 0), { improved: true });
});

test('the record carries the best over to a resumed run while its checkpoint exists; --fresh ignores and deletes it', async () => {
  const dir = tempDir('best-record');
  const saver = new Saver();
  await saver.save(path.join(dir, 'model.ckpt'), one(20), { globalStep: 20 });
  const first = new BestTracker({ modelDir: dir });
  first.observe(20, 'model.ckpt-20', 0.93);
  await first.save();
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, BEST_FILE), 'utf8')), { checkpoint: 'model.ckpt-20', step: 20, accuracy: 0.93 });

  const resumed = new BestTracker({ modelDir: dir, patience: 1 });
  assert.equal(resumed.bestPrefix(), path.join(dir, 'model.ckpt-20'));
  assert.match(resumed.observe(30, 'model.ckpt-30', 0.92).stop ?? '', /best 0\.9300 at step 20/);
  assert.equal(new BestTracker({ modelDir: dir, fresh: true }).best, undefined);

  await deleteAllCheckpoints(dir, 'model.ckpt');
  assert.deepEqual(readBestRecord(dir), {}, 'deleted with the checkpoints');
});

test('a damaged or stale record is set aside with a reason, never trusted, never fatal', async () => {
  const dir = tempDir('best-bad');
  const file = path.join(dir, BEST_FILE);
  for (const [text, why] of [
    ['{"checkpoint": "model.ckpt-5", "step": 5, "accuracy": 0.9}', /names model\.ckpt-5, which is gone/],
    ['{"checkpoint": "../../etc/model.ckpt-5", "step": 5, "accuracy": 0.9}', /not a best-checkpoint record/],
    ['{"checkpoint": "model.ckpt-5", "step": 5, "accuracy": 7}', /not a best-checkpoint record/],
    ['null', /not a best-checkpoint record/],
    ['{not json', /not valid JSON/],
  ] as const) {
    writeFileSync(file, text);
    const { record, problem } = readBestRecord(dir);
    assert.equal(record, undefined, text);
    assert.match(problem ?? '', why);
    assert.ok(problem!.startsWith(file), 'names the file');
    assert.equal(new BestTracker({ modelDir: dir }).ignoredRecord, problem);
  }
});
