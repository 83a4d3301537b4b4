import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMnist, sliceSplit } from '../../src/data/mnist.js';
import { UserError } from '../../src/errors.js';
import { readTFRecordFileSync, writeTFRecordFileSync } from '../../src/formats/tfrecord.js';
import { decodeExample, encodeExample, int64Feature } from '../../src/formats/example.js';
import { Dataset } from '../../src/pipeline/dataset.js';
import { collateMnist, mnistTFRecordBatches, parseMnistExample, shardName, writeMnistTFRecords } from '../../src/pipeline/mnist-tfrecord.js';
import { batchChecksum } from '../helpers/batch-checksum.js';

const ROOT = path.join(import.meta.dirname, '../..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], { cwd: ROOT, encoding: 'utf8' });

const mnistTrain = loadMnist().train;
const train = sliceSplit(mnistTrain, 0, 100);
const dir = mkdtempSync(path.join(tmpdir(), 'mnist-tfr-'));
const filesReady = writeMnistTFRecords(train, dir, { shards: 2 });

test("writes the book's records: shard names, features, and the book's first training image", async () => {
  const files = await filesReady;
  assert.deepEqual(files.map((f) => path.basename(f)), ['data.tfrecords-00000-of-00002', 'data.tfrecords-00001-of-00002']);
  assert.equal(shardName(3, 10), 'data.tfrecords-00003-of-00010');
  const recs = files.map((f) => readTFRecordFileSync(f));
  assert.deepEqual(recs.map((r) => r.length), [50, 50]);
  const first = decodeExample(recs[0][0]);
  assert.deepEqual(Object.keys(first).sort(), ['image_raw', 'label', 'pixels']);
  assert.deepEqual(first.pixels, { int64List: [784n] }); // the number of pixels, a scalar
  // seed 002 §7.1 prints this record: label 7, first ink pixels 97 96 77 118 61
  const { image, label } = parseMnistExample(recs[0][0]);
  assert.equal(label, 7);
  assert.deepEqual(Array.from(image.subarray(207, 212)), [97, 96, 77, 118, 61]);
  assert.deepEqual(image, train.images.subarray(0, 784));
  assert.equal(parseMnistExample(recs[1][49]).label, train.labels[99]);
});

const labelsOf = (b: { labels: Int32Array }) => Array.from(b.labels);

test('mnistTFRecordBatches: one epoch = every example once, scaled, reproducible per seed', async () => {
  await filesReady;
  const pattern = path.join(dir, 'data.tfrecords-*');
  const run = async (seed: number) => {
    const stream = await mnistTFRecordBatches(pattern, { batchSize: 32, seed, shuffleBuffer: 64, epochs: 1 });
    const out = [];
    for (let b = stream.next(); b; b = stream.next()) out.push({ images: b.images.slice(), labels: b.labels.slice() });
    return out;
  };
  const a = await run(1);
  assert.deepEqual(a.map((b) => b.labels.length), [32, 32, 32, 4]);
  assert.equal(a[0].images.length, 32 * 784);
  assert.deepEqual(a.flatMap(labelsOf).sort(), Array.from(train.labels).sort());
  const max = Math.max(...a.map((b) => b.images.reduce((m, v) => Math.max(m, v), 0)));
  assert.ok(max <= 1 && max > 0.99);
  assert.deepEqual(await run(1), a);
  assert.notDeepEqual((await run(2)).map(labelsOf), a.map(labelsOf));
  // endless by default; dropRemainder leaves out the short batch when the epochs run out
  const endless = await mnistTFRecordBatches(pattern, { batchSize: 32, seed: 3 });
  for (let n = 0; n < 5; n++) assert.equal(endless.next()?.labels.length, 32);
  const dropped = await mnistTFRecordBatches(pattern, { batchSize: 30, seed: 3, epochs: 1, dropRemainder: true });
  assert.deepEqual([dropped.next(), dropped.next(), dropped.next()].map((b) => b?.labels.length), [30, 30, 30]);
  assert.equal(dropped.next(), undefined);
});

test('mnistTFRecordBatches keeps the batch order of earlier versions (3 shards, buffers 64, 10,000 and 1)', async () => {
  const files = await writeMnistTFRecords(sliceSplit(mnistTrain, 0, 300), mkdtempSync(path.join(tmpdir(), 'mnist-tfr-3-')), { shards: 3 });
  const checksum = async (batchSize: number, shuffleBuffer: number, seed: number, batches: number) => {
    const stream = await mnistTFRecordBatches(files, { batchSize, shuffleBuffer, seed });
    return batchChecksum(batches, () => stream.next()!);
  };
  assert.equal(await checksum(32, 64, 1, 40), '9f1cf003');
  assert.equal(await checksum(100, 10_000, 2, 10), '93ce764');
  assert.equal(await checksum(25, 1, 4, 14), '3a42045c');
});

test('the in-memory feed gives the batches of the streamed Dataset (tfRecord → interleave → map → shuffle → repeat → batch)', async () => {
  const files = await filesReady;
  const streamed = Dataset.tfRecord(files, { cycleLength: files.length })
    .map((r) => parseMnistExample(r))
    .shuffle(30, { seed: 4 })
    .repeat(3)
    .batch(25);
  const fed = await mnistTFRecordBatches(files, { batchSize: 25, seed: 4, shuffleBuffer: 30, epochs: 3 });
  let n = 0;
  for await (const batch of streamed) {
    const b = fed.next()!;
    assert.deepEqual(b, collateMnist(batch), `batch ${n}`);
    n++;
  }
  assert.equal(n, 12);
  assert.equal(fed.next(), undefined);
});

test('bad input: a corrupt record names the file, a pattern that matches nothing names the pattern', async () => {
  const files = await filesReady;
  const bad = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-tfr-bad-')), 'bad.tfrecords');
  const bytes = readFileSync(files[0]);
  bytes[12 + 50 * 0 + 30] ^= 1;
  writeFileSync(bad, bytes);
  await assert.rejects(
    mnistTFRecordBatches(bad, { batchSize: 10 }),
    (e: Error) => e instanceof UserError && e.message === `${bad}: corrupt record data (CRC mismatch) at offset 0`,
  );
  const notMnist = path.join(path.dirname(bad), 'ij.tfrecords');
  writeTFRecordFileSync(notMnist, [encodeExample({ i: int64Feature(0) })]);
  await assert.rejects(mnistTFRecordBatches(notMnist, { batchSize: 1 }), (e: Error) => e instanceof UserError && e.message.startsWith(`${notMnist}: record 0: `));
  await assert.rejects(mnistTFRecordBatches(path.join(dir, 'nothing-*'), { batchSize: 1 }), /no files match/);
});

test('CLI: tfrecord write and read (summary, dump, corrupt file)', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'mnist-tfr-cli-'));
  const w = cli('tfrecord', 'write', '--split', 'test', '--limit', '10', '--shards', '2', '--compression', 'gzip', '-o', out);
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /Wrote 10 test examples to 2 file/);
  assert.deepEqual(readdirSync(out).sort(), ['data.tfrecords-00000-of-00002', 'data.tfrecords-00001-of-00002']);
  const summary = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'tfrecord', 'read', path.join(out, 'data.tfrecords-*'), '--json'], { cwd: ROOT, encoding: 'utf8' }));
  assert.equal(summary.records, 10);
  assert.deepEqual(summary.features.pixels, { kind: 'int64', count: 10, minLen: 1, maxLen: 1 });
  const testLabels = loadMnist().test.labels.subarray(0, 10);
  const hist: Record<string, number> = {};
  for (const l of testLabels) hist[l] = (hist[l] ?? 0) + 1;
  assert.deepEqual(summary.labelHistogram, hist);
  const dump = cli('tfrecord', 'read', path.join(out, 'data.tfrecords-00000-of-00002'), '--dump', '1');
  assert.match(dump.stdout, /#0: \{"image_raw":\{"bytes":\["<784 bytes: 0{32}…>"\]\},"label":\{"int64":\[7\]\},"pixels":\{"int64":\[784\]\}\}/);

  const bad = path.join(out, 'bad.tfrecords');
  const plain = readFileSync(path.join(dir, 'data.tfrecords-00000-of-00002'));
  plain[12 + 400] ^= 0xff;
  writeFileSync(bad, plain);
  const r = cli('tfrecord', 'read', bad);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), `error: ${bad}: corrupt record data (CRC mismatch) at offset 0`);
  const skip = cli('tfrecord', 'read', bad, '--skip-corrupt');
  assert.equal(skip.status, 0);
  assert.match(skip.stdout, /49 records in 1 file\(s\), 1 corrupt part\(s\) skipped/);
  assert.match(skip.stderr, /warning: .*skipping the record/);
});
