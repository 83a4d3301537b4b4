import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  TFRecordWriter,
  decodeTFRecords,
  detectCompression,
  encodeTFRecords,
  frameRecord,
  readTFRecordFileSync,
  readTFRecords,
  writeTFRecordFileSync,
} from '../../src/formats/tfrecord.js';
import { UserError } from '../../src/errors.js';

const FIXTURES = path.join(import.meta.dirname, '../fixtures/tfrecord_ij_small');
const SHARD0 = path.join(FIXTURES, 'data.tfrecords-00000-of-00002');
const FIRST_PAYLOAD = '0a180a0a0a016912051a030a01000a0a0a016a12051a030a0100';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'tfrecord-test-'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function collect(file: string, opts = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readTFRecords(file, opts)) out.push(hex(r));
  return out;
}

const records = [new Uint8Array(0), new TextEncoder().encode('hello'), Uint8Array.from({ length: 70_000 }, (_, i) => i % 251)];

test('framing of a record is byte-identical to the TensorFlow-written file', () => {
  const file = readFileSync(SHARD0);
  const framed = frameRecord(Buffer.from(FIRST_PAYLOAD, 'hex'));
  assert.equal(framed.length, 42);
  assert.equal(hex(framed), hex(file.subarray(0, 42)));
  // uint64 LE length 26 at the front
  assert.equal(hex(framed.subarray(0, 8)), '1a00000000000000');
});

test('real TensorFlow files: sync and streaming readers see both records of both shards', async () => {
  const want = [FIRST_PAYLOAD, FIRST_PAYLOAD.slice(0, -2) + '01'];
  assert.deepEqual(readTFRecordFileSync(SHARD0).map(hex), want);
  assert.deepEqual(await collect(SHARD0), want);
  const shard1 = await collect(path.join(FIXTURES, 'data.tfrecords-00001-of-00002'));
  assert.equal(shard1.length, 2);
  assert.notEqual(shard1[0], want[0]); // i = 1 there
});

for (const compression of ['none', 'gzip', 'zlib'] as const) {
  test(`round trip (${compression}): streaming writer, sync and streaming readers`, async () => {
    const dir = tmp();
    const file = path.join(dir, `r.${compression}`);
    const w = new TFRecordWriter(file, { compression });
    for (const r of records) await w.write(r);
    await w.close();
    assert.equal(w.count, 3);
    assert.deepEqual(readdirSync(dir), [`r.${compression}`]); // temp file renamed away
    const raw = readFileSync(file);
    if (compression === 'gzip') assert.deepEqual([raw[0], raw[1]], [0x1f, 0x8b]);
    assert.equal(detectCompression(raw), compression);
    const want = records.map(hex);
    assert.deepEqual(readTFRecordFileSync(file).map(hex), want);
    assert.deepEqual(await collect(file), want);
    assert.deepEqual(await collect(file, { compression }), want);
    // the decompressed stream is exactly the plain framing
    const plain = compression === 'gzip' ? zlib.gunzipSync(raw) : compression === 'zlib' ? zlib.inflateSync(raw) : raw;
    assert.equal(hex(plain), hex(encodeTFRecords(records)));
  });
}

test('sync writer and the sync reader agree; gzip file written by zlib directly reads too', async () => {
  const dir = tmp();
  const a = path.join(dir, 'a');
  writeTFRecordFileSync(a, records, { compression: 'gzip' });
  assert.deepEqual(readTFRecordFileSync(a).map(hex), records.map(hex));
  const b = path.join(dir, 'b');
  writeFileSync(b, zlib.gzipSync(readFileSync(SHARD0)));
  assert.equal((await collect(b)).length, 2);
});

test('streaming reader handles records larger than its read chunks', async () => {
  const dir = tmp();
  const big = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 7) % 256);
  const file = path.join(dir, 'big');
  writeTFRecordFileSync(file, [big, records[1]]);
  const got: Uint8Array[] = [];
  for await (const r of readTFRecords(file)) got.push(r);
  assert.equal(got.length, 2);
  assert.equal(got[0].length, big.length);
  assert.equal(got[0][2_999_999], (2_999_999 * 7) % 256);
});

function corruptCopy(mutate: (b: Buffer) => Buffer): string {
  const file = path.join(tmp(), 'bad.tfrecords');
  writeFileSync(file, mutate(Buffer.from(readFileSync(SHARD0))));
  return file;
}

test('flipped byte in the length: UserError naming file and offset; skip drops the rest of the file', async () => {
  const file = corruptCopy((b) => ((b[42] ^= 0x01), b)); // length of record 2
  assert.throws(() => readTFRecordFileSync(file), (e: Error) => e instanceof UserError && e.message === `${file}: corrupt record length (CRC mismatch) at offset 42`);
  await assert.rejects(collect(file), /bad\.tfrecords: corrupt record length \(CRC mismatch\) at offset 42/);
  const warnings: string[] = [];
  const got = await collect(file, { skipCorrupt: true, onWarning: (m: string) => warnings.push(m) });
  assert.deepEqual(got, [FIRST_PAYLOAD]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /offset 42; skipping the rest of the file/);
});

test('flipped byte in the data: error, or the record is skipped and the next one still read', async () => {
  const file = corruptCopy((b) => ((b[12 + 5] ^= 0x40), b)); // inside payload of record 1
  assert.throws(() => readTFRecordFileSync(file), /corrupt record data \(CRC mismatch\) at offset 0$/);
  await assert.rejects(collect(file), /corrupt record data \(CRC mismatch\) at offset 0/);
  const warnings: string[] = [];
  const got = await collect(file, { skipCorrupt: true, onWarning: (m: string) => warnings.push(m) });
  assert.deepEqual(got, [FIRST_PAYLOAD.slice(0, -2) + '01']);
  assert.match(warnings[0], /skipping the record/);
  assert.equal(readTFRecordFileSync(file, { skipCorrupt: true, onWarning: () => {} }).length, 1);
});

test('flipped byte in a data CRC is caught too', () => {
  const file = corruptCopy((b) => ((b[83] ^= 0x80), b));
  assert.throws(() => readTFRecordFileSync(file), /corrupt record data \(CRC mismatch\) at offset 42/);
});

test('truncated file: error names the offset of the incomplete record', async () => {
  for (const cut of [80, 50, 45]) {
    const file = corruptCopy((b) => b.subarray(0, cut));
    assert.throws(() => readTFRecordFileSync(file), new RegExp(`truncated record \\(${cut - 42} trailing bytes\\) at offset 42$`));
    await assert.rejects(collect(file), /truncated record/);
    assert.equal((await collect(file, { skipCorrupt: true, onWarning: () => {} })).length, 1);
  }
});

test('truncated gzip stream is a UserError', async () => {
  const file = path.join(tmp(), 'cut.gz');
  writeFileSync(file, zlib.gzipSync(encodeTFRecords(records)).subarray(0, 100));
  assert.throws(() => readTFRecordFileSync(file), (e: Error) => e instanceof UserError && e.message.startsWith(`${file}: bad GZIP data`));
  await assert.rejects(collect(file), (e: Error) => e instanceof UserError && e.message.includes('cut.gz'));
});

test('decodeTFRecords on bytes; empty input has no records', () => {
  assert.deepEqual(decodeTFRecords(new Uint8Array(0)), []);
  assert.deepEqual(decodeTFRecords(encodeTFRecords(records)).map(hex), records.map(hex));
});

test('aborted writer leaves no file behind', async () => {
  const dir = tmp();
  const w = new TFRecordWriter(path.join(dir, 'x'));
  await w.write(records[1]);
  await w.abort();
  assert.deepEqual(readdirSync(dir), []);
});
