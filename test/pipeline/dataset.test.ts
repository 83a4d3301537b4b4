import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Dataset } from '../../src/pipeline/dataset.js';
import { matchFiles } from '../../src/pipeline/files.js';
import { parseSingleExample, fixedLenFeature } from '../../src/formats/example.js';
import { UserError } from '../../src/errors.js';

const FIXTURES = path.join(import.meta.dirname, '../fixtures/tfrecord_ij_small');
const range = (n: number) => Dataset.fromArray(Array.from({ length: n }, (_, i) => i));
const MAP_FNS = new URL('./map-fns.ts', import.meta.url);

test('fromTensorSlices: arrays, typed arrays, shaped arrays and records of them', async () => {
  assert.deepEqual(await Dataset.fromTensorSlices([1, 2, 3, 5, 8]).map((x) => x * x).toArray(), [1, 4, 9, 25, 64]);
  assert.deepEqual(await Dataset.fromTensorSlices(Int32Array.of(4, 5)).toArray(), [4, 5]);
  const rows = await Dataset.fromTensorSlices({ values: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [3, 2] }).toArray();
  assert.deepEqual(rows, [Float32Array.of(1, 2), Float32Array.of(3, 4), Float32Array.of(5, 6)]);
  const rec = await Dataset.fromTensorSlices({ x: Uint8Array.of(7, 8), label: ['a', 'b'] }).toArray();
  assert.deepEqual(rec, [
    { x: 7, label: 'a' },
    { x: 8, label: 'b' },
  ]);
  assert.throws(() => Dataset.fromTensorSlices({ x: [1, 2], y: [1] }), UserError);
});

test('batch keeps or drops the remainder; take and skip; filter', async () => {
  assert.deepEqual(await range(7).batch(3).toArray(), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.deepEqual(await range(7).batch(3, { dropRemainder: true }).toArray(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(await range(10).skip(2).take(3).toArray(), [2, 3, 4]);
  assert.deepEqual(await range(10).filter((x) => x % 4 === 0).toArray(), [0, 4, 8]);
  assert.deepEqual(await range(3).take(0).toArray(), []);
});

test('repeat: count, forever with take, and an empty dataset stays empty', async () => {
  assert.deepEqual(await range(3).repeat(2).toArray(), [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(await range(2).repeat().take(5).toArray(), [0, 1, 0, 1, 0]);
  assert.deepEqual(await range(0).repeat().toArray(), []);
});

test('shuffle: a permutation, reproducible for a seed, different per epoch and per seed', async () => {
  const a = range(50).shuffle(10, { seed: 42 });
  const e1 = await a.toArray();
  const e2 = await a.toArray(); // second pass: new order from a derived seed
  assert.deepEqual([...e1].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(e1, e2);
  const b = range(50).shuffle(10, { seed: 42 }); // rebuilt pipeline replays both epochs
  assert.deepEqual(await b.toArray(), e1);
  assert.deepEqual(await b.toArray(), e2);
  assert.notDeepEqual(await range(50).shuffle(10, { seed: 43 }).toArray(), e1);
  const fixed = range(20).shuffle(20, { seed: 1, reshuffleEachIteration: false });
  assert.deepEqual(await fixed.toArray(), await fixed.toArray());
  // repeat() over a shuffle reshuffles every epoch
  const rep = await range(20).shuffle(20, { seed: 7 }).repeat(2).toArray();
  assert.notDeepEqual(rep.slice(0, 20), rep.slice(20));
  // buffer semantics: with buffer 1 the order is unchanged; element k can't come out before
  // position k - bufferSize + 1
  assert.deepEqual(await range(10).shuffle(1, { seed: 3 }).toArray(), Array.from({ length: 10 }, (_, i) => i));
  const small = await range(100).shuffle(5, { seed: 9 }).toArray();
  small.forEach((v, pos) => assert.ok(v <= pos + 4, `${v} at ${pos}`));
});

test('interleave: TF order across shards (cycle 2, block 1 and 2)', async () => {
  const shards = (n: number) => Dataset.fromArray(['a', 'b', 'c']).map((s) => Dataset.fromArray(Array.from({ length: n }, (_, i) => `${s}${i}`)));
  const inner = (d: Dataset<string>) => d;
  assert.deepEqual(await shards(2).interleave(inner, { cycleLength: 2 }).toArray(), ['a0', 'b0', 'a1', 'b1', 'c0', 'c1']);
  assert.deepEqual(await shards(3).interleave(inner, { cycleLength: 2, blockLength: 2 }).toArray(), ['a0', 'a1', 'b0', 'b1', 'a2', 'b2', 'c0', 'c1', 'c2']);
  assert.deepEqual(await shards(2).interleave(inner, { cycleLength: 1 }).toArray(), ['a0', 'a1', 'b0', 'b1', 'c0', 'c1']);
});

test('tfRecord over the real TF shards: sequential and interleaved, like the book', async () => {
  const parse = (r: Uint8Array) => {
    const e = parseSingleExample(r, { i: fixedLenFeature([], 'int64'), j: fixedLenFeature([], 'int64') });
    return [Number(e.i.values[0]), Number(e.j.values[0])];
  };
  const pattern = path.join(FIXTURES, 'data.tfrecords-*');
  assert.deepEqual(await Dataset.tfRecord(pattern).map(parse).toArray(), [[0, 0], [0, 1], [1, 0], [1, 1]]);
  assert.deepEqual(await Dataset.tfRecord(pattern, { cycleLength: 2 }).map(parse).toArray(), [[0, 0], [1, 0], [0, 1], [1, 1]]);
  // the book's tf.train.batch example: batches of 3 of (i, j), cycling through the files
  const batches = await Dataset.tfRecord(pattern).map(parse).repeat().batch(3).take(2).toArray();
  assert.deepEqual(batches, [[[0, 0], [0, 1], [1, 0]], [[1, 1], [0, 0], [0, 1]]]);
});

test('fromFiles / matchFiles and textLine', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ds-test-'));
  writeFileSync(path.join(dir, 'b.txt'), 'b1\nb2\n');
  writeFileSync(path.join(dir, 'a.txt'), 'a1\r\na2');
  writeFileSync(path.join(dir, 'c.csv'), 'x');
  assert.deepEqual(matchFiles(path.join(dir, '*.txt')), [path.join(dir, 'a.txt'), path.join(dir, 'b.txt')]);
  assert.deepEqual(await Dataset.textLine(path.join(dir, '?.txt')).toArray(), ['a1', 'a2', 'b1', 'b2']);
  assert.throws(() => matchFiles(path.join(dir, '*.png')), (e: Error) => e instanceof UserError && e.message.endsWith('*.png: no files match'));
  const shuffled = Dataset.fromFiles(path.join(dir, '*'), { shuffle: true, seed: 5 });
  assert.equal((await shuffled.toArray()).length, 3);
});

test('prefetch runs ahead of the consumer and keeps order', async () => {
  let produced = 0;
  const ds = Dataset.fromGenerator(function* () {
    for (let i = 0; i < 10; i++) {
      produced++;
      yield i;
    }
  }).prefetch(4);
  const it = ds[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { value: 0, done: false });
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(produced >= 4, `produced ${produced}`);
  assert.ok(produced < 10);
  const rest: number[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
  assert.deepEqual(rest, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('errors surface at their position; async map with parallelism keeps order', async () => {
  const failing = range(5).map((x) => {
    if (x === 3) throw new Error('boom at 3');
    return x;
  });
  const seen: number[] = [];
  await assert.rejects(failing.prefetch(3).forEach((x) => void seen.push(x)), /boom at 3/);
  assert.deepEqual(seen, [0, 1, 2]);
  const slow = await range(12)
    .map(async (x) => {
      await new Promise((r) => setTimeout(r, (12 - x) * 2));
      return x * 10;
    }, { parallelism: 4 })
    .toArray();
  assert.deepEqual(slow, Array.from({ length: 12 }, (_, i) => i * 10));
});

test('mapParallel on 2 worker threads: deterministic order, both workers used, errors propagate', async () => {
  const out = await range(30).mapParallel<{ x: number; y: number; thread: number }>(MAP_FNS, 'slowSquare', { parallelism: 2 }).toArray();
  assert.deepEqual(out.map((o) => o.y), Array.from({ length: 30 }, (_, i) => i * i));
  assert.equal(new Set(out.map((o) => o.thread)).size, 2);
  assert.ok(!out.some((o) => o.thread === 0)); // never on the main thread
  await assert.rejects(range(10).mapParallel(MAP_FNS, 'failOnSeven', { parallelism: 2 }).toArray(), /seven is not allowed/);
  const arrays = await Dataset.fromArray([Float32Array.of(1, 2), Float32Array.of(3)]).mapParallel<Float32Array>(MAP_FNS, 'doubleArray', { parallelism: 1 }).toArray();
  assert.deepEqual(arrays, [Float32Array.of(2, 4), Float32Array.of(6)]);
  // an early break still shuts the workers down (the test would hang otherwise)
  for await (const o of range(100).mapParallel(MAP_FNS, 'slowSquare', { parallelism: 2 })) if (o) break;
});
