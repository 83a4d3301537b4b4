import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMnist, sliceSplit } from '../../src/data/mnist.js';
import { UserError } from '../../src/errors.js';
import { readTFRecordFileSync } from '../../src/formats/tfrecord.js';
import { decodeExample } from '../../src/formats/example.js';
import { mnistBatchSourceSync, mnistBatchesFromTFRecords, parseMnistExample, shardName, writeMnistTFRecords } from '../../src/pipeline/mnist-tfrecord.js';

const ROOT = path.join(import.meta.dirname, '../..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], { cwd: ROOT, encoding: 'utf8' });

const train = sliceSplit(loadMnist().train, 0, 100);
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

test('mnistBatchesFromTFRecords: one epoch = every example once, scaled, reproducible per seed', async () => {
  await filesReady;
  const pattern = path.join(dir, 'data.tfrecords-*');
  const run = async (seed: number) => {
    const out = [];
    for await (const b of mnistBatchesFromTFRecords(pattern, { batchSize: 32, seed, shuffleBuffer: 64, epochs: 1 })) out.push(b);
    return out;
  };
  const a = await run(1);
  assert.deepEqual(a.map((b) => b.labels.length), [32, 32, 32, 4]);
  assert.equal(a[0].images.length, 32 * 784);
  const labels = a.flatMap((b) => Array.from(b.labels)).sort();
  assert.deepEqual(labels, Array.from(train.labels).sort());
  const max = Math.max(...a.map((b) => b.images.reduce((m, v) => Math.max(m, v), 0)));
  assert.ok(max <= 1 && max > 0.99);
  assert.deepEqual(await run(1), a);
  assert.notDeepEqual((await run(2)).map((b) => Array.from(b.labels)), a.map((b) => Array.from(b.labels)));
  // endless by default: take 5 batches of 32 from 100 examples
  let n = 0;
  for await (const b of mnistBatchesFromTFRecords(pattern, { batchSize: 32, seed: 3 })) if (++n === 5 || !b) break;
  assert.equal(n, 5);
});

test('mnistBatchSourceSync gives exactly the async pipeline\'s batches, across epochs', async () => {
  await filesReady;
  const pattern = path.join(dir, 'data.tfrecords-*');
  const next = mnistBatchSourceSync(pattern, { batchSize: 30, seed: 9, shuffleBuffer: 40 });
  let n = 0;
  for await (const b of mnistBatchesFromTFRecords(pattern, { batchSize: 30, seed: 9, shuffleBuffer: 40 })) {
    const s = next();
    assert.deepEqual(s.labels, b.labels, `batch ${n}`);
    assert.deepEqual(s.images, b.images);
    if (++n === 8) break; // 240 examples: into the third epoch
  }
});

test('cached, background and on-thread pipelines agree; errors in the worker arrive as UserErrors naming the file', async () => {
  const files = await filesReady;
  const take = async (cache: boolean, background: boolean, epochs?: number) => {
    const out: number[][] = [];
    for await (const b of mnistBatchesFromTFRecords(files, { batchSize: 25, seed: 4, shuffleBuffer: 30, cache, background, epochs })) {
      out.push(Array.from(b.labels));
      if (out.length === 6) break;
    }
    return out;
  };
  const cached = await take(true, false);
  assert.deepEqual(await take(false, true), cached);
  assert.deepEqual(await take(false, false), cached);
  // a last short batch when the epochs run out: 3 × 100 = 12 batches of 25; 1 × 100 with 30 → 4 batches, last of 10
  assert.deepEqual(await take(false, false, 1), await take(true, false, 1));
  const sizes: number[] = [];
  for await (const b of mnistBatchesFromTFRecords(files, { batchSize: 30, epochs: 1, cache: true })) sizes.push(b.labels.length);
  assert.deepEqual(sizes, [30, 30, 30, 10]);
  const streamed: number[] = [];
  for await (const b of mnistBatchesFromTFRecords(files, { batchSize: 30, epochs: 1, cache: false })) streamed.push(b.labels.length);
  assert.deepEqual(streamed, [30, 30, 30, 10]);
  const bad = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-tfr-bad-')), 'bad.tfrecords');
  const bytes = readFileSync(files[0]);
  bytes[12 + 50 * 0 + 30] ^= 1;
  writeFileSync(bad, bytes);
  await assert.rejects(
    (async () => {
      for await (const b of mnistBatchesFromTFRecords(bad, { batchSize: 10, epochs: 1, cache: false })) void b;
    })(),
    (e: Error) => e instanceof UserError && e.message === `${bad}: corrupt record data (CRC mismatch) at offset 0`,
  );
  await assert.rejects(mnistBatchesFromTFRecords(path.join(dir, 'nothing-*'), { batchSize: 1 }).next(), /no files match/);
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
