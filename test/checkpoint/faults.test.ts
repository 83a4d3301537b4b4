/**
 * Fault injection: damaged checkpoints must be rejected with a one-line UserError naming the
 * damaged file — never loaded silently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../src/errors.js';
import { decodeTensor, readBundleIndex, writeBundle } from '../../src/formats/bundle.js';
import type { TensorValue } from '../../src/formats/tensor-value.js';
import { FOOTER_SIZE, BLOCK_TRAILER_SIZE } from '../../src/formats/sstable.js';
import { ByteReader } from '../../src/formats/varint.js';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('faults');
const prefix = path.join(dir, 'model.ckpt-1000');
const indexFile = `${prefix}.index`;
const dataFile = `${prefix}.data-00000-of-00001`;

// 60 tensors with a small block size, so the index has several data blocks.
const tensors: Array<[string, TensorValue]> = [];
for (let i = 0; i < 60; i++) {
  tensors.push([`net/layer${String(i).padStart(3, '0')}/weights`, { dtype: 'float32', shape: [3], data: Float32Array.from([i, i + 0.5, -i]) }]);
}
tensors.push(['names', { dtype: 'string', shape: [2], data: [new TextEncoder().encode('alpha'), new TextEncoder().encode('beta')] }]);
tensors.push(['global_step', { dtype: 'int64', shape: [], data: BigInt64Array.from([1000n]) }]);
const good = writeBundle(tensors, { table: { blockSize: 256 } });

function install(index: Uint8Array, data: Uint8Array = good.data): void {
  writeFileSync(indexFile, index);
  writeFileSync(dataFile, data);
}

/** Opens the checkpoint and reads every tensor. */
function loadAll(): void {
  CheckpointReader.open(prefix).verifyAll();
}

/** The same checks as loadAll, in memory (for the exhaustive loops: no file system round trip). */
function loadInMemory(index: Uint8Array, data: Uint8Array): void {
  for (const e of readBundleIndex(index, indexFile).entries) decodeTensor(e, data, dataFile);
}

function assertRejected(file: string, what: string, pattern?: RegExp, load: () => void = loadAll): void {
  assert.throws(load, (err: unknown) => {
    if (!(err instanceof UserError)) return false;
    assert.ok(err.message.startsWith(`${file}: `), `${what}: message should name ${path.basename(file)}: ${err.message}`);
    assert.ok(!err.message.includes('\n'), `${what}: one line`);
    if (pattern) assert.match(err.message, pattern, what);
    return true;
  }, what);
}

/** Start offsets of every block (data blocks, metaindex, index) and the footer, parsed independently. */
function blockBoundaries(file: Uint8Array): Array<{ kind: string; offset: number; size: number }> {
  const f = new ByteReader(file, file.length - FOOTER_SIZE);
  const meta = { offset: f.varint64Number(), size: f.varint64Number() };
  const index = { offset: f.varint64Number(), size: f.varint64Number() };
  const blocks: Array<{ kind: string; offset: number; size: number }> = [];
  for (let off = 0; off < meta.offset; ) {
    // Data blocks are back to back; find each one's size from the index rather than guessing.
    const next = blocksFromIndex(file, index).find((b) => b.offset === off);
    assert.ok(next, `data block at ${off}`);
    blocks.push({ kind: 'data', ...next });
    off += next.size + BLOCK_TRAILER_SIZE;
  }
  blocks.push({ kind: 'metaindex', ...meta }, { kind: 'index', ...index });
  return blocks;
}

function blocksFromIndex(file: Uint8Array, index: { offset: number; size: number }): Array<{ offset: number; size: number }> {
  const block = file.subarray(index.offset, index.offset + index.size);
  const n = new ByteReader(block, block.length - 4).fixed32();
  const r = new ByteReader(block, 0, block.length - 4 - 4 * n);
  const out: Array<{ offset: number; size: number }> = [];
  while (r.remaining > 0) {
    r.varint32();
    const nonShared = r.varint32();
    const valueLength = r.varint32();
    r.bytes(nonShared);
    const h = new ByteReader(r.bytes(valueLength));
    out.push({ offset: h.varint64Number(), size: h.varint64Number() });
  }
  return out;
}

test('the undamaged checkpoint loads (control)', () => {
  install(good.index);
  loadAll();
  const r = CheckpointReader.open(prefix);
  assert.deepEqual(r.tensor('net/layer042/weights').data, Float32Array.from([42, 42.5, -42]));
  assert.ok(blockBoundaries(good.index).filter((b) => b.kind === 'data').length >= 3, 'several data blocks');
});

test('an index truncated at every block boundary, inside every block and in the footer is rejected', () => {
  const cuts = new Set<number>();
  for (const b of blockBoundaries(good.index)) {
    for (const c of [b.offset, b.offset + 1, b.offset + b.size, b.offset + b.size + 1, b.offset + b.size + BLOCK_TRAILER_SIZE]) cuts.add(c);
  }
  for (let c = good.index.length - FOOTER_SIZE; c < good.index.length; c++) cuts.add(c);
  cuts.add(0);
  for (const cut of [...cuts].filter((c) => c < good.index.length)) {
    install(good.index.subarray(0, cut));
    assertRejected(indexFile, `index truncated to ${cut} bytes`);
  }
  // And every other length too: nothing shorter than the whole file loads.
  for (let cut = 0; cut < good.index.length; cut++) {
    assertRejected(indexFile, `index truncated to ${cut} bytes`, undefined, () => loadInMemory(good.index.subarray(0, cut), good.data));
  }
});

test('a flipped byte anywhere in the index (data blocks, metaindex, index block, trailers, footer) is rejected', () => {
  const regions = blockBoundaries(good.index);
  const regionOf = (i: number): string => {
    if (i >= good.index.length - FOOTER_SIZE) return 'footer';
    const b = regions.find((r) => i >= r.offset && i < r.offset + r.size + BLOCK_TRAILER_SIZE)!;
    return i >= b.offset + b.size ? `${b.kind} block trailer` : `${b.kind} block`;
  };
  const seen = new Set<string>();
  for (let i = 0; i < good.index.length; i++) {
    for (const mask of [0x01, 0x80]) {
      const bad = good.index.slice();
      bad[i] ^= mask;
      const region = regionOf(i);
      const pattern = region.endsWith('block') ? new RegExp(`bad block checksum at offset \\d+ \\(${region.split(' ')[0]} block\\)`) : undefined;
      // The first byte of each region goes through the files on disk, the rest in memory.
      const load = seen.has(region) ? () => loadInMemory(bad, good.data) : (install(bad), loadAll);
      seen.add(region);
      assertRejected(indexFile, `byte ${i} (${region}) ^ ${mask}`, pattern, load);
    }
  }
  for (const r of ['data block', 'metaindex block', 'index block', 'data block trailer', 'index block trailer', 'footer']) assert.ok(seen.has(r), r);
});

test('a flipped byte anywhere in the tensor data is rejected naming the data file', () => {
  for (let i = 0; i < good.data.length; i++) {
    const bad = good.data.slice();
    bad[i] ^= 0x10;
    const load = i % 97 === 0 ? (install(good.index, bad), loadAll) : () => loadInMemory(good.index, bad);
    assertRejected(dataFile, `data byte ${i}`, /tensor "[^"]+": (checksum mismatch|string)/, load);
  }
});

test('a truncated or missing data file is rejected when the checkpoint is opened', () => {
  install(good.index, good.data.subarray(0, good.data.length - 1));
  assert.throws(() => CheckpointReader.open(prefix), (e: unknown) => e instanceof UserError && /data-00000-of-00001: tensor ".*" .*runs past the end/.test(e.message));
  install(good.index, new Uint8Array(0));
  assertRejected(dataFile, 'empty data file', /runs past the end/);
});
