import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { findV1Checkpoint, readV1Tensors } from '../../src/checkpoint/v1-reader.js';
import { UserError } from '../../src/errors.js';
import { protoType } from '../../src/formats/protos.js';
import { TableBuilder } from '../../src/formats/sstable.js';
import { runCli } from '../helpers/cli.js';

const FIXTURE = path.join(import.meta.dirname, '../fixtures/ckpt_v1_nxt');
const CKPT = path.join(FIXTURE, 'model.ckpt');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'v1-test-'));

test('a TensorFlow 0.11 V1 checkpoint opens like a V2 one: names, dtypes, shapes, values', () => {
  const reader = CheckpointReader.open(CKPT);
  assert.equal(reader.names().length, 14);
  assert.deepEqual(reader.info('mweight'), { dtype: 'float32', shape: [4, 10] });
  assert.deepEqual(reader.info('mbias2/Adam_1'), { dtype: 'float32', shape: [2] });
  assert.deepEqual(reader.info('beta1_power'), { dtype: 'float32', shape: [] });
  const mbias = reader.tensor('mbias').data as Float32Array;
  assert.equal(mbias.length, 10);
  assert.equal(mbias[0], Buffer.from('e114c9be', 'hex').readFloatLE(0));
  // Adam's second-moment slots are never negative.
  for (const name of reader.names().filter((n) => n.endsWith('/Adam_1'))) assert.ok((reader.tensor(name).data as Float32Array).every((v) => v >= 0), name);
  reader.verifyAll();
});

test('V1 checkpoints are found by file, by prefix, by shard file and through a directory\'s checkpoint state file', () => {
  const dir = tmp();
  copyFileSync(CKPT, path.join(dir, 'model.ckpt-5000'));
  writeFileSync(path.join(dir, 'checkpoint'), 'model_checkpoint_path: "model.ckpt-5000"\nall_model_checkpoint_paths: "model.ckpt-5000"\n');
  assert.equal(CheckpointReader.open(dir).prefix, path.join(dir, 'model.ckpt-5000'));
  assert.equal(findV1Checkpoint(path.join(dir, 'model.ckpt-5000'))?.files.length, 1);
  // Not a table: left to the V2 reader, which says there is no checkpoint.
  writeFileSync(path.join(dir, 'notes'), 'hello, not a checkpoint at all');
  assert.equal(findV1Checkpoint(path.join(dir, 'notes')), null);
  assert.throws(() => CheckpointReader.open(path.join(dir, 'notes')), (e: unknown) => e instanceof UserError && /no checkpoint here/.test(e.message));
});

// ---- V1 files of our own making, for what the fixture lacks: partitioned variables and shards ----

const enc = new TextEncoder();
type Extent = { start: number; length?: number };
interface Slice {
  name: string;
  extents: Extent[];
  values: number[];
}

function v1File(file: string, tensors: Array<{ name: string; shape: number[]; slices: Extent[][] }>, slices: Slice[]): void {
  const T = protoType('tensorflow.SavedTensorSlices');
  const table = new TableBuilder();
  const meta = { tensor: tensors.map((t) => ({ name: t.name, shape: { dim: t.shape.map((size) => ({ size })) }, type: 'DT_FLOAT', slice: t.slices.map((extent) => ({ extent })) })), versions: { producer: 15 } };
  table.add(new Uint8Array(0), T.encode(T.fromObject({ meta })).finish());
  // Keys only need to be distinct and ordered (TensorFlow's are an ordered code of name and slice).
  const keyed = slices.map((s) => ({ key: enc.encode(`\x00${s.name}\x00${JSON.stringify(s.extents)}`), s })).sort((a, b) => Buffer.compare(a.key, b.key));
  for (const { key, s } of keyed) table.add(key, T.encode(T.fromObject({ data: { name: s.name, slice: { extent: s.extents }, data: { float_val: s.values } } })).finish());
  writeFileSync(file, table.finish());
}

test('a partitioned variable saved as slices in two shard files is put back together', () => {
  const dir = tmp();
  const prefix = path.join(dir, 'part.ckpt');
  const rows = (start: number): Extent[] => [{ start, length: 1 }, { start: 0 }];
  const shape = [2, 3];
  v1File(`${prefix}-00000-of-00002`, [{ name: 'w', shape, slices: [rows(0)] }], [{ name: 'w', extents: rows(0), values: [1, 2, 3] }]);
  v1File(`${prefix}-00001-of-00002`, [{ name: 'w', shape, slices: [rows(1)] }, { name: 'b', shape: [2], slices: [[]] }], [
    { name: 'w', extents: rows(1), values: [4, 5, 6] },
    { name: 'b', extents: [], values: [7, 8] },
  ]);
  const reader = CheckpointReader.open(prefix);
  assert.deepEqual(Array.from(reader.tensor('w').data as Float32Array), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(reader.tensor('b').data as Float32Array), [7, 8]);
  assert.deepEqual(CheckpointReader.open(`${prefix}-00001-of-00002`).names(), ['b', 'w']);
  // Column slices too: a [2, 2] tensor saved as two columns.
  const cols = path.join(dir, 'cols.ckpt');
  const col = (start: number): Extent[] => [{ start: 0 }, { start, length: 1 }];
  v1File(cols, [{ name: 'm', shape: [2, 2], slices: [col(0), col(1)] }], [
    { name: 'm', extents: col(0), values: [1, 3] },
    { name: 'm', extents: col(1), values: [2, 4] },
  ]);
  assert.deepEqual(Array.from(readV1Tensors([cols]).get('m')!.data as Float32Array), [1, 2, 3, 4]);
});

test('a missing shard, a short slice or a broken record is a one-line error naming the file', () => {
  const dir = tmp();
  const file = path.join(dir, 'bad.ckpt');
  const half: Extent[] = [{ start: 0, length: 1 }];
  v1File(file, [{ name: 'v', shape: [2], slices: [half] }], [{ name: 'v', extents: half, values: [1] }]);
  assert.throws(() => CheckpointReader.open(file), (e: unknown) => e instanceof UserError && e.message === `${file}: tensor "v": its slices hold 1 of 2 values (a shard missing?)`);
  v1File(file, [{ name: 'v', shape: [2], slices: [[]] }], [{ name: 'v', extents: [], values: [1] }]);
  assert.throws(() => CheckpointReader.open(file), (e: unknown) => e instanceof UserError && /bad\.ckpt: tensor "v": a slice of 2 values holds 1/.test(e.message));
  v1File(file, [{ name: 'v', shape: [2], slices: [[]] }], [{ name: 'x', extents: [], values: [1, 2] }]);
  assert.throws(() => CheckpointReader.open(file), /tensor "x" has data but is not in the checkpoint's table of contents/);
});

test('mnist inspect lists a V1 checkpoint; run-graph restores it under its .meta and computes the network by hand', () => {
  let r = runCli(['inspect', CKPT]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^mweight\s+float32\s+\[4, 10\]$/m);
  assert.match(r.stdout, /14 tensors/);
  const dir = tmp();
  const x = Array.from({ length: 32 }, (_, i) => [0, 1, 2, 3].map((j) => ((i * 4 + j) % 7) / 7));
  writeFileSync(path.join(dir, 'x.json'), JSON.stringify(x));
  r = runCli(['run-graph', path.join(FIXTURE, 'model.ckpt.meta'), '--input', `Placeholder=${path.join(dir, 'x.json')}`, '--output', 'Relu_1:0', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = Object.values(JSON.parse(r.stdout) as Record<string, { values?: number[][] } | number[][]>)[0];
  const got = (Array.isArray(out) ? out : out.values!) as number[][];
  const reader = CheckpointReader.open(CKPT);
  const t = (n: string) => Array.from(reader.tensor(n).data as Float32Array);
  const [w1, b1, w2, b2] = [t('mweight'), t('mbias'), t('mweight2'), t('mbias2')];
  const relu = (v: number) => Math.max(0, v);
  for (let i = 0; i < 32; i++) {
    const h = Array.from({ length: 10 }, (_, k) => relu(x[i].reduce((s, xi, j) => s + xi * w1[j * 10 + k], 0) + b1[k]));
    const y = [0, 1].map((k) => relu(h.reduce((s, hj, j) => s + hj * w2[j * 2 + k], 0) + b2[k]));
    for (const k of [0, 1]) assert.ok(Math.abs(got[i][k] - y[k]) < 1e-5, `row ${i}: ${got[i]} vs ${y}`);
  }
});
