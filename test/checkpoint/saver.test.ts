import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TensorValue } from '../../src/formats/tensor-value.js';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { deleteAllCheckpoints, getCheckpointState, latestCheckpoint, Saver, type SaveStage } from '../../src/checkpoint/saver.js';
import { tempDir } from './helpers/tmp.js';

const fixture = (p: string): Buffer => readFileSync(fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url)));

function tensors(step: number): Map<string, TensorValue> {
  return new Map<string, TensorValue>([
    ['layer1/weights', { dtype: 'float32', shape: [2, 2], data: Float32Array.from([step, step + 1, step + 2, step + 3]) }],
    ['global_step', { dtype: 'int64', shape: [], data: BigInt64Array.from([BigInt(step)]) }],
  ]);
}

test('save writes the bundle files and a state file with relative paths', async () => {
  const dir = tempDir('saver');
  const prefix = await new Saver().save(path.join(dir, 'model.ckpt'), tensors(1000), { globalStep: 1000, metaGraph: Uint8Array.from([1, 2, 3]) });
  assert.equal(prefix, path.join(dir, 'model.ckpt-1000'));
  assert.deepEqual(readdirSync(dir).sort(), ['checkpoint', 'model.ckpt-1000.data-00000-of-00001', 'model.ckpt-1000.index', 'model.ckpt-1000.meta']);
  assert.equal(readFileSync(path.join(dir, 'checkpoint'), 'utf8'), 'model_checkpoint_path: "model.ckpt-1000"\nall_model_checkpoint_paths: "model.ckpt-1000"\n');
  assert.deepEqual([...readFileSync(`${prefix}.meta`)], [1, 2, 3]);
  assert.equal(latestCheckpoint(dir), prefix);
  const reader = CheckpointReader.open(dir);
  assert.deepEqual(reader.tensor('global_step').data, BigInt64Array.from([1000n]));
  assert.deepEqual(reader.tensor('layer1/weights').data, Float32Array.from([1000, 1001, 1002, 1003]));
});

test('the book example v1=[1], v2=[2] saved through the Saver is byte-identical to TensorFlow', async () => {
  const dir = tempDir('saver-v1v2');
  const prefix = await new Saver().save(
    path.join(dir, 'model.ckpt'),
    new Map<string, TensorValue>([
      ['v1', { dtype: 'float32', shape: [1], data: Float32Array.from([1]) }],
      ['v2', { dtype: 'float32', shape: [1], data: Float32Array.from([2]) }],
    ]),
  );
  assert.equal(prefix, path.join(dir, 'model.ckpt'));
  assert.deepEqual(readFileSync(`${prefix}.index`), fixture('ckpt_v1_v2/model.ckpt.index'));
  assert.deepEqual(readFileSync(`${prefix}.data-00000-of-00001`), fixture('ckpt_v1_v2/model.ckpt.data-00000-of-00001'));
});

test('maxToKeep keeps the newest checkpoints and deletes the files of older ones', async () => {
  const dir = tempDir('saver-keep');
  const saver = new Saver({ maxToKeep: 3 });
  for (let step = 100; step <= 700; step += 100) await saver.save(path.join(dir, 'model.ckpt'), tensors(step), { globalStep: step, metaGraph: new Uint8Array(4) });
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, [
    'checkpoint',
    ...[500, 600, 700].flatMap((s) => [`model.ckpt-${s}.data-00000-of-00001`, `model.ckpt-${s}.index`, `model.ckpt-${s}.meta`]),
  ]);
  const state = getCheckpointState(dir)!;
  assert.equal(state.modelCheckpointPath, path.join(dir, 'model.ckpt-700'));
  assert.deepEqual(state.allModelCheckpointPaths, [500, 600, 700].map((s) => path.join(dir, `model.ckpt-${s}`)));
  assert.deepEqual(saver.lastCheckpoints(), state.allModelCheckpointPaths.map((p) => path.resolve(p)));
});

test('a new Saver resuming in the same directory takes over the checkpoints already listed', async () => {
  const dir = tempDir('saver-resume');
  const first = new Saver({ maxToKeep: 3 });
  for (const step of [1, 2, 3]) await first.save(path.join(dir, 'model.ckpt'), tensors(step), { globalStep: step });
  const second = new Saver({ maxToKeep: 3 });
  await second.save(path.join(dir, 'model.ckpt'), tensors(4), { globalStep: 4 });
  await second.save(path.join(dir, 'model.ckpt'), tensors(5), { globalStep: 5 });
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.index')).sort(), ['model.ckpt-3.index', 'model.ckpt-4.index', 'model.ckpt-5.index']);
  assert.equal(readFileSync(path.join(dir, 'checkpoint'), 'utf8').split('\n').filter((l) => l.startsWith('all_')).length, 3);
});

test('saving the same step twice does not list it twice; maxToKeep 0 keeps everything', async () => {
  const dir = tempDir('saver-dup');
  const saver = new Saver({ maxToKeep: 0 });
  for (const step of [1, 2, 2, 3]) await saver.save(path.join(dir, 'model.ckpt'), tensors(step), { globalStep: step });
  assert.deepEqual(getCheckpointState(dir)!.allModelCheckpointPaths.map((p) => path.basename(p)), ['model.ckpt-1', 'model.ckpt-2', 'model.ckpt-3']);
  assert.throws(() => new Saver({ maxToKeep: -1 }), RangeError);
  await assert.rejects(saver.save(path.join(dir, 'model.ckpt'), tensors(1), { globalStep: 1.5 }), RangeError);
});

test('latestCheckpoint and getCheckpointState', () => {
  const dir = tempDir('state');
  assert.equal(latestCheckpoint(dir), null);
  assert.equal(getCheckpointState(dir), null);
  // A state file naming a checkpoint whose index is gone: no latest checkpoint.
  writeFileSync(path.join(dir, 'checkpoint'), 'model_checkpoint_path: "model.ckpt-9"\nall_model_checkpoint_paths: "model.ckpt-9"\n');
  assert.equal(latestCheckpoint(dir), null);
  // Absolute paths (TensorFlow 1.x's default) are kept as they are.
  writeFileSync(path.join(dir, 'checkpoint'), 'model_checkpoint_path: "/elsewhere/model.ckpt-9"\n');
  assert.equal(getCheckpointState(dir)!.modelCheckpointPath, '/elsewhere/model.ckpt-9');
  // TensorFlow 1.10's own state file, with a relative path.
  const tfDir = fileURLToPath(new URL('../fixtures/ckpt_houseprices_adam', import.meta.url));
  assert.equal(latestCheckpoint(tfDir), path.join(tfDir, 'model.ckpt'));
});

class CrashingSaver extends Saver {
  constructor(
    private readonly crashAfter: SaveStage,
    maxToKeep?: number,
  ) {
    super({ maxToKeep });
  }
  protected override afterStage(stage: SaveStage): void {
    if (stage === this.crashAfter) throw new Error(`simulated crash after ${stage}`);
  }
}

for (const stage of ['data', 'index', 'meta'] as const) {
  test(`a save that dies after writing the ${stage} file leaves the previous checkpoint as latest`, async () => {
    const dir = tempDir(`crash-${stage}`);
    await new Saver().save(path.join(dir, 'model.ckpt'), tensors(1), { globalStep: 1 });
    const before = readFileSync(path.join(dir, 'checkpoint'), 'utf8');
    await assert.rejects(
      new CrashingSaver(stage).save(path.join(dir, 'model.ckpt'), tensors(2), { globalStep: 2, metaGraph: new Uint8Array(1) }),
      /simulated crash/,
    );
    assert.equal(readFileSync(path.join(dir, 'checkpoint'), 'utf8'), before);
    assert.equal(latestCheckpoint(dir), path.join(dir, 'model.ckpt-1'));
    assert.deepEqual(CheckpointReader.open(dir).tensor('global_step').data, BigInt64Array.from([1n]));
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('.tmp-')), 'no temporary files left behind');
  });
}

test('a save that dies after the state file is written leaves the new checkpoint complete', async () => {
  const dir = tempDir('crash-state');
  await new Saver().save(path.join(dir, 'model.ckpt'), tensors(1), { globalStep: 1 });
  await assert.rejects(new CrashingSaver('state').save(path.join(dir, 'model.ckpt'), tensors(2), { globalStep: 2 }));
  CheckpointReader.open(dir).verifyAll();
  assert.equal(latestCheckpoint(dir), path.join(dir, 'model.ckpt-2'));
  assert.ok(existsSync(path.join(dir, 'model.ckpt-1.index')));
});

test('the first save in a directory removes temporary files left by dead processes only', async () => {
  const dir = tempDir('stale-tmp');
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
  const stale = `.tmp-model.ckpt-5.data-00000-of-00001-${deadPid}-abc123`;
  const ours = `.tmp-model.ckpt-5.index-${process.pid}-def456`;
  const staleState = `.tmp-checkpoint-${deadPid}-jkl012`;
  const otherFile = `.tmp-events.log-${deadPid}-ghi789`;
  for (const f of [stale, staleState, ours, otherFile]) writeFileSync(path.join(dir, f), 'x');
  await new Saver().save(path.join(dir, 'model.ckpt'), tensors(6), { globalStep: 6 });
  const left = readdirSync(dir).filter((f) => f.startsWith('.tmp-')).sort();
  assert.deepEqual(left, [otherFile, ours].sort());
});

test('deleteAllCheckpoints removes the state file and every model.ckpt-N of the directory, nothing outside it', async () => {
  const dir = tempDir('saver-delete-all');
  const elsewhere = tempDir('saver-delete-all-elsewhere');
  const outside = await new Saver().save(path.join(elsewhere, 'model.ckpt'), tensors(7), { globalStep: 7 });
  const saver = new Saver();
  for (const step of [1, 2]) await saver.save(path.join(dir, 'model.ckpt'), tensors(step), { globalStep: step, metaGraph: Uint8Array.of(1) });
  writeFileSync(path.join(dir, 'model.ckpt-9.data-00000-of-00001'), 'orphan data of a killed save');
  writeFileSync(path.join(dir, 'notes.txt'), 'not a checkpoint');
  const state = readFileSync(path.join(dir, 'checkpoint'), 'utf8');
  writeFileSync(path.join(dir, 'checkpoint'), `${state}all_model_checkpoint_paths: "${outside}"\n`);
  assert.equal(await deleteAllCheckpoints(dir, 'model.ckpt'), 3);
  assert.deepEqual(readdirSync(dir), ['notes.txt']);
  assert.ok(existsSync(`${outside}.index`), 'a checkpoint outside the directory stays');
  assert.equal(latestCheckpoint(dir), null);
});

test('a kill between the state file and the deletions leaves an orphan that the next run\'s first save deletes', async () => {
  const dir = tempDir('saver-orphan');
  const elsewhere = tempDir('saver-orphan-elsewhere');
  const outside = await new Saver().save(path.join(elsewhere, 'model.ckpt'), tensors(1), { globalStep: 1 });
  const killed = new Saver({ maxToKeep: 2 });
  for (const step of [1, 2]) await killed.save(path.join(dir, 'model.ckpt'), tensors(step), { globalStep: step, metaGraph: Uint8Array.of(1) });
  // What a kill right after the state file was written for step 3 leaves: model.ckpt-1 unlisted, not deleted.
  await assert.rejects(new CrashingSaver('state', 2).save(path.join(dir, 'model.ckpt'), tensors(3), { globalStep: 3 }), /simulated crash/);
  assert.ok(existsSync(path.join(dir, 'model.ckpt-1.index')), 'the orphan is there after the kill');
  const bystanders = ['model.ckpt-1.txt', 'model.ckpt-x.index', 'other.ckpt-1.index', 'notes'];
  for (const f of bystanders) writeFileSync(path.join(dir, f), 'not ours');
  const state = readFileSync(path.join(dir, 'checkpoint'), 'utf8');
  writeFileSync(path.join(dir, 'checkpoint'), `${state}all_model_checkpoint_paths: "${outside}"\n`);

  await new Saver({ maxToKeep: 5 }).save(path.join(dir, 'model.ckpt'), tensors(4), { globalStep: 4 });
  const left = readdirSync(dir).sort();
  assert.deepEqual(left.filter((f) => f.startsWith('model.ckpt-') && !bystanders.includes(f)), [2, 3, 4].flatMap((s) => [`model.ckpt-${s}.data-00000-of-00001`, `model.ckpt-${s}.index`]).concat('model.ckpt-2.meta').sort());
  for (const f of bystanders) assert.ok(left.includes(f), `${f} is not a checkpoint file of this directory and stays`);
  assert.ok(existsSync(`${outside}.index`), 'a listed checkpoint outside the directory stays');
});

test('an unreadable state file prunes nothing: an orphan cannot be told from a keeper', async () => {
  const dir = tempDir('saver-orphan-garbage');
  await new Saver().save(path.join(dir, 'model.ckpt'), tensors(1), { globalStep: 1 });
  writeFileSync(path.join(dir, 'checkpoint'), 'garbage\n');
  await new Saver().save(path.join(dir, 'model.ckpt'), tensors(2), { globalStep: 2 });
  assert.ok(existsSync(path.join(dir, 'model.ckpt-1.index')));
});

test('a preserved checkpoint is kept and listed besides the newest maxToKeep until another is preserved', async () => {
  const dir = tempDir('saver-preserve');
  const saver = new Saver({ maxToKeep: 2 });
  const base = path.join(dir, 'model.ckpt');
  await saver.save(base, tensors(1), { globalStep: 1 });
  saver.preserve(`${base}-1`);
  for (const step of [2, 3, 4]) await saver.save(base, tensors(step), { globalStep: step });
  const listed = () => getCheckpointState(dir)!.allModelCheckpointPaths.map((p) => path.basename(p));
  assert.deepEqual(listed(), ['model.ckpt-1', 'model.ckpt-3', 'model.ckpt-4']);
  assert.ok(existsSync(`${base}-1.index`));
  // A resumed run (a new Saver) that preserves it too keeps it.
  const resumed = new Saver({ maxToKeep: 2 });
  resumed.preserve(`${base}-1`);
  await resumed.save(base, tensors(5), { globalStep: 5 });
  assert.deepEqual(listed(), ['model.ckpt-1', 'model.ckpt-4', 'model.ckpt-5']);
  // A better one among the newest: the old best goes at the next save, the new one stays when it ages.
  resumed.preserve(`${base}-5`);
  for (const step of [6, 7]) await resumed.save(base, tensors(step), { globalStep: step });
  assert.deepEqual(listed(), ['model.ckpt-5', 'model.ckpt-6', 'model.ckpt-7']);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.index')).sort(), ['model.ckpt-5.index', 'model.ckpt-6.index', 'model.ckpt-7.index']);
});
