/**
 * TensorFlow's tensor bundle (the V2 checkpoint format), as `core/util/tensor_bundle` writes it:
 *
 * - `PREFIX.index`: an SSTable (see sstable.ts). Key "" holds a BundleHeaderProto; every other key,
 *   in bytewise order, is a tensor name holding a BundleEntryProto (dtype, shape, shard, offset,
 *   size, masked CRC32C of the tensor's bytes).
 * - `PREFIX.data-00000-of-00001`: the tensors' bytes, back to back (padded to `dataAlignment`,
 *   which TensorFlow's Saver leaves at 1, i.e. no padding). Numbers are raw little-endian.
 *   Strings are `[varint64 len]*n [fixed32 masked crc of the lengths] [bytes]*n`, where that crc
 *   (and the entry's crc) covers each length as a little-endian uint32 (uint64 when it does not
 *   fit), not its varint bytes.
 *
 * This module works on bytes in memory and plain typed arrays; it knows no tensor library.
 */
import { crc32c, crc32cExtend, maskCrc, unmaskCrc } from './crc32c.js';
import { fileError, quoted } from '../errors.js';
import { decodeFailure, protoType } from './protos.js';
import { compareBytes, TableBuilder, TableReader, type TableOptions } from './sstable.js';
import { dataMatchesDType, DTYPES, dtypeFromEnumValue, elementCount, isTensorDType, numericDataFromBytes, type TensorDType, type TensorValue } from './tensor-value.js';
import { ByteReader, ByteWriter, TruncatedError, writeFixed32 } from './varint.js';

/** More data files than any checkpoint has (their names hold the count in 5 digits). */
const MAX_SHARDS = 99999;

/** Format version this code writes and reads (tensor_bundle.cc kTensorBundleVersion). */
export const BUNDLE_VERSION = 1;

/** `model.ckpt-1000.data-00000-of-00001` from the prefix and the shard number. */
export function dataFileName(prefix: string, shard: number, numShards: number): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `${prefix}.data-${pad(shard)}-of-${pad(numShards)}`;
}

export function indexFileName(prefix: string): string {
  return `${prefix}.index`;
}

export interface BundleWriteOptions {
  /** Pad each tensor's bytes to a multiple of this (TensorFlow's default and Saver's: 1). */
  dataAlignment?: number;
  table?: TableOptions;
}

export interface BundleFiles {
  index: Uint8Array;
  data: Uint8Array;
}

function checkTensor(name: string, t: TensorValue): void {
  if (!isTensorDType(t.dtype)) throw new Error(`tensor "${name}": unsupported dtype ${t.dtype}`);
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`tensor "${name}": bad shape [${t.shape.join(', ')}]`);
  }
  const n = elementCount(t.shape);
  if (!dataMatchesDType(t.dtype, t.data)) throw new Error(`tensor "${name}": data does not match dtype ${t.dtype}`);
  if (t.data.length !== n) {
    throw new Error(`tensor "${name}": shape [${t.shape.join(', ')}] needs ${n} values, got ${t.data.length}`);
  }
}

function rawBytes(data: ArrayBufferView): Uint8Array {
  // Typed arrays are in host order; Node runs little-endian everywhere we ship.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The on-disk bytes of a string tensor and their (unmasked) crc32c, as WriteStringTensor makes them. */
function encodeStrings(strings: Uint8Array[]): { bytes: Uint8Array; crc: number } {
  const w = new ByteWriter(strings.length * 2 + 16);
  let crc = 0;
  const scratch = new Uint8Array(8);
  for (const s of strings) {
    w.varint64(s.length);
    crc = crc32cExtend(crc, lengthBytesForCrc(s.length, scratch));
  }
  const lengthCrc = new Uint8Array(4);
  writeFixed32(lengthCrc, 0, maskCrc(crc));
  w.bytes(lengthCrc);
  crc = crc32cExtend(crc, lengthCrc);
  for (const s of strings) {
    w.bytes(s);
    crc = crc32cExtend(crc, s);
  }
  return { bytes: w.finish(), crc };
}

function lengthBytesForCrc(length: number | bigint, scratch: Uint8Array): Uint8Array {
  const v = BigInt(length);
  writeFixed32(scratch, 0, Number(v & 0xffffffffn));
  if (v <= 0xffffffffn) return scratch.subarray(0, 4);
  writeFixed32(scratch, 4, Number(v >> 32n));
  return scratch.subarray(0, 8);
}

// proto3 as C++ serializes it: fields at their default value are left out, so we only set
// what is non-zero (protobufjs would otherwise write explicit zeros).
function nonZero<T extends Record<string, unknown>>(obj: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== 0 && v !== undefined) out[k as keyof T] = v as T[keyof T];
  return out;
}

/**
 * Serializes tensors into the bytes of a single-shard bundle. Tensors are written in key order,
 * as TensorFlow's Saver does, so equal inputs give byte-identical files.
 */
export function writeBundle(tensors: Iterable<[string, TensorValue]>, options: BundleWriteOptions = {}): BundleFiles {
  const alignment = options.dataAlignment ?? 1;
  const encoder = new TextEncoder();
  const items = [...tensors].map(([name, t]) => ({ name, key: encoder.encode(name), t }));
  items.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 0; i < items.length; i++) {
    if (items[i].name === '') throw new Error('a tensor name must not be empty (the key "" holds the bundle header)');
    if (i > 0 && compareBytes(items[i - 1].key, items[i].key) === 0) throw new Error(`duplicate tensor name "${items[i].name}"`);
    checkTensor(items[i].name, items[i].t);
  }

  const Header = protoType('tensorflow.BundleHeaderProto');
  const Entry = protoType('tensorflow.BundleEntryProto');
  const table = new TableBuilder(options.table);
  table.add(new Uint8Array(0), Header.encode(Header.fromObject({ num_shards: 1, version: { producer: BUNDLE_VERSION } })).finish());

  const numericBytes = items.reduce((sum, { t }) => sum + (t.dtype === 'string' ? 0 : (t.data as ArrayBufferView).byteLength + alignment), 0);
  const data = new ByteWriter(numericBytes + 4096);
  for (const { key, t } of items) {
    const offset = data.length;
    let bytes: Uint8Array;
    let crc: number;
    if (t.dtype === 'string') {
      ({ bytes, crc } = encodeStrings(t.data as Uint8Array[]));
    } else {
      bytes = rawBytes(t.data as ArrayBufferView);
      crc = crc32c(bytes);
    }
    data.bytes(bytes);
    const entry = nonZero({ dtype: DTYPES[t.dtype].enumValue, offset, size: bytes.length });
    const shape = { dim: t.shape.map((size) => nonZero({ size })) };
    table.add(key, Entry.encode(Entry.fromObject({ ...entry, shape, crc32c: maskCrc(crc) })).finish());
    while (data.length % alignment !== 0) data.byte(0);
  }
  return { index: table.finish(), data: data.finish() };
}

export interface BundleHeader {
  numShards: number;
  producer: number;
  minConsumer: number;
}

export interface BundleEntry {
  name: string;
  /** Our dtype, or null for a TensorFlow dtype we cannot decode (see tfDType). */
  dtype: TensorDType | null;
  /** TensorFlow's name for the dtype, e.g. DT_FLOAT. */
  tfDType: string;
  shape: number[];
  shardId: number;
  offset: number;
  size: number;
  /** Masked CRC32C as stored. */
  crc32c: number;
  /** True for the full-tensor entry of a partitioned (sliced) variable. */
  sliced: boolean;
}

export interface BundleIndex {
  header: BundleHeader;
  /** Tensor entries in key order (the header excluded). */
  entries: BundleEntry[];
}

/** Parses a bundle's `.index` bytes (every block checksum is verified). Errors name `fileName`. */
export function readBundleIndex(indexBytes: Uint8Array, fileName: string): BundleIndex {
  const table = TableReader.read(indexBytes, fileName);
  const [first, ...rest] = table.entries;
  if (!first || first.key.length !== 0) throw fileError(fileName, 'missing bundle header (no entry under the empty key)');
  const Header = protoType('tensorflow.BundleHeaderProto');
  const Entry = protoType('tensorflow.BundleEntryProto');
  const DataType = protoType('tensorflow.BundleEntryProto').lookupEnum('tensorflow.DataType');

  let h: Record<string, any>;
  try {
    h = Header.toObject(Header.decode(first.value), { longs: String, defaults: true, enums: Number });
  } catch (err) {
    throw fileError(fileName, `bundle header is not a valid BundleHeaderProto (${decodeFailure(err)})`);
  }
  const header: BundleHeader = {
    numShards: h.num_shards,
    producer: h.version?.producer ?? 0,
    minConsumer: h.version?.min_consumer ?? 0,
  };
  if (h.endianness !== 0) throw fileError(fileName, 'big-endian checkpoints are not supported');
  if (header.minConsumer > BUNDLE_VERSION || (h.version?.bad_consumers ?? []).includes(BUNDLE_VERSION)) {
    throw fileError(fileName, `checkpoint format version is too new (needs a reader of version ${header.minConsumer} or later)`);
  }
  if (header.numShards < 1) throw fileError(fileName, `bad shard count in bundle header (${header.numShards < 0 ? 'negative' : 'zero'})`);
  if (header.numShards > MAX_SHARDS) throw fileError(fileName, `bad shard count in bundle header (${header.numShards}, more than ${MAX_SHARDS})`);

  const decoder = new TextDecoder();
  const entries = rest.map((e): BundleEntry => {
    const name = decoder.decode(e.key);
    const bad = (problem: string): never => {
      throw fileError(fileName, `tensor ${quoted(name)}: ${problem}`);
    };
    let m: Record<string, any>;
    try {
      m = Entry.toObject(Entry.decode(e.value), { longs: String, defaults: true, enums: Number });
    } catch (err) {
      return bad(`entry is not a valid BundleEntryProto (${decodeFailure(err)})`);
    }
    // int64 fields come as decimal strings: a damaged varint may exceed 2^53 or wrap to a negative.
    const size64 = (text: string, what: string): number => {
      const v = BigInt(text);
      if (v < 0n) bad(`negative ${what} in the index (damaged file?)`);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`${what} ${v} is larger than any file (damaged index?)`);
      return Number(v);
    };
    const dims: Array<{ size: string }> = m.shape?.dim ?? [];
    if (m.shape?.unknown_rank) bad('invalid shape (unknown rank)');
    const shape = dims.map((d) => size64(d.size, 'dimension'));
    if (m.shard_id < 0 || m.shard_id >= header.numShards) {
      bad(m.shard_id < 0 ? 'negative shard number in the index (damaged file?)' : `names shard ${m.shard_id} of ${header.numShards}`);
    }
    return {
      name,
      dtype: dtypeFromEnumValue(m.dtype) ?? null,
      tfDType: DataType.valuesById[m.dtype] ?? `DataType(${m.dtype})`,
      shape,
      shardId: m.shard_id,
      offset: size64(m.offset, 'byte offset'),
      size: size64(m.size, 'byte size'),
      crc32c: m.crc32c >>> 0,
      sliced: (m.slices ?? []).length > 0,
    };
  });
  return { header, entries };
}

/**
 * Decodes one tensor from its shard's bytes, checking size, bounds and the CRC32C.
 * Errors name `dataFile` (the shard's file name).
 */
export function decodeTensor(entry: BundleEntry, shard: Uint8Array, dataFile: string): TensorValue {
  const fail = (problem: string): never => {
    throw fileError(dataFile, `tensor ${quoted(entry.name)}: ${problem}`);
  };
  if (entry.sliced) fail('partitioned (sliced) variables are not supported');
  const dtype = entry.dtype;
  if (dtype === null) return fail(`dtype ${entry.tfDType} is not supported`);
  const n = elementCount(entry.shape);
  if (dtype !== 'string' && entry.size !== n * DTYPES[dtype].bytes) {
    fail(`stored size ${entry.size} does not match shape [${entry.shape.join(', ')}] of ${dtype}`);
  }
  if (entry.offset + entry.size > shard.length) {
    fail(`bytes ${entry.offset}..${entry.offset + entry.size} run past the end of the file (${shard.length} bytes; truncated?)`);
  }
  const bytes = shard.subarray(entry.offset, entry.offset + entry.size);
  const expected = unmaskCrc(entry.crc32c);
  const mismatch = (): never => fail(`checksum mismatch at offset ${entry.offset} (file corrupt)`);

  if (dtype === 'string') {
    const { strings, crc } = decodeStrings(bytes, n, fail);
    if (crc !== expected) mismatch();
    return { dtype, shape: entry.shape, data: strings };
  }
  if (crc32c(bytes) !== expected) mismatch();
  // A copy (Buffer#slice would share memory): aligned, and independent of the file buffer.
  const data = numericDataFromBytes(dtype, bytes);
  return { dtype, shape: entry.shape, data };
}

function decodeStrings(bytes: Uint8Array, n: number, fail: (problem: string) => never): { strings: Uint8Array[]; crc: number } {
  if (bytes.length === 0 && n === 0) return { strings: [], crc: 0 };
  const r = new ByteReader(bytes);
  const scratch = new Uint8Array(8);
  const lengths: number[] = [];
  let crc = 0;
  try {
    for (let i = 0; i < n; i++) {
      const len = r.varint64();
      crc = crc32cExtend(crc, lengthBytesForCrc(len, scratch));
      if (len > BigInt(bytes.length)) fail(`string length ${len} runs past the tensor's ${bytes.length} bytes`);
      lengths.push(Number(len));
    }
    const lengthCrcBytes = r.bytes(4);
    const stored = (lengthCrcBytes[0] | (lengthCrcBytes[1] << 8) | (lengthCrcBytes[2] << 16) | (lengthCrcBytes[3] << 24)) >>> 0;
    if (unmaskCrc(stored) !== crc) fail('string length checksum mismatch (file corrupt)');
    crc = crc32cExtend(crc, lengthCrcBytes);
    const strings = lengths.map((len) => {
      const s = new Uint8Array(r.bytes(len));
      crc = crc32cExtend(crc, s);
      return s;
    });
    if (r.remaining !== 0) fail(`${r.remaining} unexpected bytes after the strings`);
    return { strings, crc };
  } catch (err) {
    if (err instanceof TruncatedError) return fail('string data runs past its stored size (file corrupt)');
    throw err;
  }
}
