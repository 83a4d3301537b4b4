import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors.js';
import {
  FOOTER_SIZE,
  SNAPPY_COMPRESSION,
  TableBuilder,
  TableReader,
  type TableEntry,
} from '../../src/formats/sstable.js';
import { ByteReader, ByteWriter, readFixed32 } from '../../src/formats/varint.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Hundreds of long keys sharing prefixes, e.g. `layer017/sublayer/weights/Adam_1`. */
function manyEntries(n: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    const layer = `model/layer${String(Math.floor(i / 6)).padStart(3, '0')}/dense`;
    const slot = ['biases', 'biases/Adam', 'biases/Adam_1', 'weights', 'weights/Adam', 'weights/Adam_1'][i % 6];
    out.push([`${layer}/${slot}`, `value-${i}-${'x'.repeat(i % 13)}`]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : 1));
}

function build(entries: Array<[string, string]>, options = {}): Uint8Array {
  const b = new TableBuilder(options);
  for (const [k, v] of entries) b.add(enc(k), enc(v));
  return b.finish();
}

function footerHandles(file: Uint8Array): { metaindex: [number, number]; index: [number, number] } {
  const r = new ByteReader(file, file.length - FOOTER_SIZE);
  return { metaindex: [r.varint64Number(), r.varint64Number()], index: [r.varint64Number(), r.varint64Number()] };
}

/** Decodes a raw (uncompressed) block's entries and restart offsets without the reader under test. */
function rawBlock(file: Uint8Array, offset: number, size: number): { entries: TableEntry[]; restarts: number[]; shared: number[] } {
  const block = file.subarray(offset, offset + size);
  const n = readFixed32(block, block.length - 4);
  const restartsStart = block.length - 4 - 4 * n;
  const restarts = Array.from({ length: n }, (_, i) => readFixed32(block, restartsStart + 4 * i));
  const r = new ByteReader(block, 0, restartsStart);
  const entries: TableEntry[] = [];
  const shared: number[] = [];
  let last = new Uint8Array(0);
  while (r.pos < restartsStart) {
    const s = r.varint32();
    const ns = r.varint32();
    const vl = r.varint32();
    const key = new Uint8Array([...last.subarray(0, s), ...r.bytes(ns)]);
    entries.push({ key, value: r.bytes(vl) });
    shared.push(s);
    last = key;
  }
  return { entries, restarts, shared };
}

test('round trip of hundreds of keys sharing prefixes across several data blocks', () => {
  const entries = manyEntries(600);
  const file = build(entries, { blockSize: 2048 });
  const table = TableReader.read(file, 'many.index');
  assert.equal(table.entries.length, 600);
  table.entries.forEach((e, i) => {
    assert.equal(dec(e.key), entries[i][0]);
    assert.equal(dec(e.value), entries[i][1]);
  });
  assert.equal(dec(table.get(enc(entries[123][0]))!), entries[123][1]);
  assert.equal(table.get(enc('model/layer000/dense/biasez')), undefined);

  // The index block has one entry per data block, restart interval 1, short separator keys.
  const { index } = footerHandles(file);
  const idx = rawBlock(file, index[0], index[1]);
  assert.ok(idx.entries.length >= 5, `expected several data blocks, got ${idx.entries.length}`);
  assert.equal(idx.restarts.length, idx.entries.length);
  assert.ok(idx.shared.every((s) => s === 0));

  // Each data block: keys prefix-compressed, a restart point every 16 entries.
  let total = 0;
  for (const ie of idx.entries) {
    const h = new ByteReader(ie.value);
    const [off, size] = [h.varint64Number(), h.varint64Number()];
    const blk = rawBlock(file, off, size);
    total += blk.entries.length;
    assert.equal(blk.restarts.length, Math.ceil(blk.entries.length / 16));
    assert.ok(blk.shared.filter((s, i) => i % 16 !== 0).every((s) => s > 0), 'keys after a restart share a prefix');
    assert.ok(blk.shared.filter((_, i) => i % 16 === 0).every((s) => s === 0));
    const lastKey = dec(blk.entries[blk.entries.length - 1].key);
    assert.ok(lastKey <= dec(ie.key), 'separator >= last key of its block');
  }
  assert.equal(total, 600);
});

test('separator and successor keys are shortened like TensorFlow/LevelDB', () => {
  const file = build(
    [
      ['abcdefgh', '1'],
      ['abzzzz', '2'],
    ],
    { blockSize: 1 },
  );
  const { index } = footerHandles(file);
  const keys = rawBlock(file, index[0], index[1]).entries.map((e) => dec(e.key));
  // between "abcdefgh" and "abzzzz": "abd"; after the last key "abzzzz": "b".
  assert.deepEqual(keys, ['abd', 'b']);
});

test('empty table and the empty key', () => {
  const empty = TableReader.read(new TableBuilder().finish(), 'e.index');
  assert.equal(empty.entries.length, 0);
  const t = TableReader.read(build([['', 'header'], ['a', 'x']]), 'h.index');
  assert.deepEqual(
    t.entries.map((e) => [dec(e.key), dec(e.value)]),
    [
      ['', 'header'],
      ['a', 'x'],
    ],
  );
});

test('a very large value gets a block of its own', () => {
  const big = 'y'.repeat(5000);
  const file = build(
    [
      ['a', 'small'],
      ['b', big],
      ['c', 'small'],
    ],
    { blockSize: 1024 },
  );
  const t = TableReader.read(file, 'big.index');
  assert.equal(dec(t.get(enc('b'))!), big);
  const { index } = footerHandles(file);
  assert.equal(rawBlock(file, index[0], index[1]).entries.length, 3);
});

test('keys out of order are refused by the builder', () => {
  const b = new TableBuilder();
  b.add(enc('b'), enc('1'));
  assert.throws(() => b.add(enc('a'), enc('2')), /increasing order/);
  assert.throws(() => b.add(enc('b'), enc('2')), /increasing order/);
});

test('snappy-compressed blocks are read', () => {
  // A valid snappy stream made of literals only: varint length, then literal chunks of <= 60 bytes.
  const literalSnappy = (raw: Uint8Array): { type: number; bytes: Uint8Array } => {
    const w = new ByteWriter().varint32(raw.length);
    for (let i = 0; i < raw.length; i += 60) {
      const chunk = raw.subarray(i, i + 60);
      w.byte((chunk.length - 1) << 2).bytes(chunk);
    }
    return { type: SNAPPY_COMPRESSION, bytes: w.finish() };
  };
  const entries = manyEntries(100);
  const file = build(entries, { blockSize: 1024, compress: literalSnappy });
  const t = TableReader.read(file, 'snappy.index');
  assert.deepEqual(
    t.entries.map((e) => dec(e.key)),
    entries.map(([k]) => k),
  );
  // The block type byte really is 1.
  const { index } = footerHandles(file);
  assert.equal(file[index[0] + index[1]], SNAPPY_COMPRESSION);
});

test('corrupt tables give one-line errors naming the file and the offset', () => {
  const file = build(manyEntries(200), { blockSize: 1024 });
  const expectError = (bytes: Uint8Array, pattern: RegExp): void => {
    assert.throws(
      () => TableReader.read(bytes, 'model.ckpt-7.index'),
      (err: unknown) => err instanceof UserError && /^model\.ckpt-7\.index: /.test(err.message) && pattern.test(err.message) && !err.message.includes('\n'),
    );
  };
  expectError(file.subarray(0, 20), /too short/);
  expectError(file.subarray(0, file.length - 1), /magic/);
  const flipped = file.slice();
  flipped[100] ^= 0x01;
  expectError(flipped, /^model\.ckpt-7\.index: bad block checksum at offset 0 \(data block\)$/);
  const { index } = footerHandles(file);
  const flippedIndex = file.slice();
  flippedIndex[index[0] + 2] ^= 0x40;
  expectError(flippedIndex, new RegExp(`bad block checksum at offset ${index[0]} \\(index block\\)`));
  const badType = file.slice();
  badType[index[0] + index[1]] = 7;
  expectError(badType, /checksum|compression type/);
});
