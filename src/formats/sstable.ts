/**
 * LevelDB's table ("SSTable") format, as TensorFlow's `core/lib/io/table*` writes it — the
 * container of a V2 checkpoint's `.index` file.
 *
 *   [data block]* [metaindex block] [index block] [footer: 48 bytes]
 *
 * A block is a run of entries `varint32 shared, varint32 non_shared, varint32 value_len,
 * key[shared:], value`, whose keys are prefix-compressed against the previous key except at
 * restart points (every `restartInterval` entries), then the restart offsets (fixed32 each) and
 * their count (fixed32). Every block is followed by a 5-byte trailer: compression type byte and
 * the masked CRC32C of the block contents plus that type byte. The index block maps, per data
 * block, a separator key (>= every key in the block, < every key after it) to the block's handle
 * (varint64 offset, varint64 size). The footer holds the metaindex and index handles, zero padding
 * to 40 bytes, and the 8-byte magic number.
 */
import { crc32c, crc32cExtend, maskCrc, unmaskCrc } from './crc32c.js';
import { fileError } from '../errors.js';
import { snappyUncompress, SnappyError } from './snappy.js';
import { ByteReader, ByteWriter, readFixed32, TruncatedError } from './varint.js';

export const TABLE_MAGIC = 0xdb4775248b80fb57n;
export const FOOTER_SIZE = 48;
export const BLOCK_TRAILER_SIZE = 5;
const MAX_HANDLES_SIZE = 40; // two BlockHandles of at most 10 + 10 varint bytes each

export const NO_COMPRESSION = 0;
export const SNAPPY_COMPRESSION = 1;

export interface TableOptions {
  /** Approximate uncompressed bytes per data block (TensorFlow: 256 KiB). */
  blockSize?: number;
  /** Entries between restart points in data blocks (TensorFlow: 16; index blocks always use 1). */
  restartInterval?: number;
  /**
   * Optional block compressor returning the compression type byte and the stored bytes, or null
   * to store the block raw. TensorFlow's bundle writer stores every block raw (type 0).
   */
  compress?: (raw: Uint8Array) => { type: number; bytes: Uint8Array } | null;
}

export const TF_TABLE_OPTIONS: Required<Omit<TableOptions, 'compress'>> = { blockSize: 262144, restartInterval: 16 };

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function sharedPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

class BlockBuilder {
  private out = new ByteWriter(1024);
  private restarts: number[] = [0];
  private counter = 0;
  private lastKey: Uint8Array = new Uint8Array(0);

  constructor(private readonly restartInterval: number) {}

  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0;
    if (this.counter < this.restartInterval) {
      shared = sharedPrefixLength(this.lastKey, key);
    } else {
      this.restarts.push(this.out.length);
      this.counter = 0;
    }
    this.out
      .varint32(shared)
      .varint32(key.length - shared)
      .varint32(value.length)
      .bytes(key.subarray(shared))
      .bytes(value);
    this.lastKey = key;
    this.counter++;
  }

  get empty(): boolean {
    return this.out.length === 0;
  }

  sizeEstimate(): number {
    return this.out.length + this.restarts.length * 4 + 4;
  }

  finish(): Uint8Array {
    for (const r of this.restarts) this.out.fixed32(r);
    this.out.fixed32(this.restarts.length);
    const block = this.out.finish();
    this.out = new ByteWriter(1024);
    this.restarts = [0];
    this.counter = 0;
    this.lastKey = new Uint8Array(0);
    return block;
  }
}

interface BlockHandle {
  offset: number;
  size: number;
}

function encodeHandle(w: ByteWriter, h: BlockHandle): ByteWriter {
  return w.varint64(h.offset).varint64(h.size);
}

// Bytewise-comparator key shortening, as TensorFlow's table builder does it, so our index
// blocks hold the same separator keys as TensorFlow's.
function shortestSeparator(start: Uint8Array, limit: Uint8Array): Uint8Array {
  const minLength = Math.min(start.length, limit.length);
  let i = 0;
  while (i < minLength && start[i] === limit[i]) i++;
  if (i >= minLength) return start; // one is a prefix of the other
  const diffByte = start[i];
  if (diffByte < 0xff && diffByte + 1 < limit[i]) {
    const out = new Uint8Array(start.subarray(0, i + 1));
    out[i]++;
    return out;
  }
  return start;
}

function shortSuccessor(key: Uint8Array): Uint8Array {
  for (let i = 0; i < key.length; i++) {
    if (key[i] !== 0xff) {
      const out = new Uint8Array(key.subarray(0, i + 1));
      out[i]++;
      return out;
    }
  }
  return key;
}

/** Builds a table in memory. Keys must be added in strictly increasing bytewise order. */
export class TableBuilder {
  private readonly blockSize: number;
  private readonly dataBlock: BlockBuilder;
  private readonly indexBlock = new BlockBuilder(1);
  private readonly out = new ByteWriter(4096);
  private lastKey: Uint8Array = new Uint8Array(0);
  private numEntries = 0;
  private pendingHandle: BlockHandle | null = null;
  private finished = false;
  private readonly compress: TableOptions['compress'];

  constructor(options: TableOptions = {}) {
    this.compress = options.compress;
    this.blockSize = options.blockSize ?? TF_TABLE_OPTIONS.blockSize;
    this.dataBlock = new BlockBuilder(options.restartInterval ?? TF_TABLE_OPTIONS.restartInterval);
  }

  add(key: Uint8Array, value: Uint8Array): void {
    if (this.finished) throw new Error('TableBuilder: add after finish');
    if (this.numEntries > 0) {
      if (compareBytes(key, this.lastKey) <= 0) throw new Error('TableBuilder: keys must be added in increasing order');
      // An entry at least twice the block size gets a block of its own.
      if (key.length + value.length >= 2 * this.blockSize) this.flush();
    }
    if (this.pendingHandle) {
      this.addIndexEntry(shortestSeparator(this.lastKey, key));
    }
    this.lastKey = new Uint8Array(key);
    this.numEntries++;
    this.dataBlock.add(key, value);
    if (this.dataBlock.sizeEstimate() >= this.blockSize) this.flush();
  }

  private addIndexEntry(separator: Uint8Array): void {
    const handle = encodeHandle(new ByteWriter(20), this.pendingHandle!).finish();
    this.indexBlock.add(separator, handle);
    this.pendingHandle = null;
  }

  private flush(): void {
    if (this.dataBlock.empty) return;
    this.pendingHandle = this.writeBlock(this.dataBlock.finish());
  }

  private writeBlock(raw: Uint8Array): BlockHandle {
    const compressed = this.compress?.(raw) ?? null;
    const contents = compressed ? compressed.bytes : raw;
    const handle = { offset: this.out.length, size: contents.length };
    const type = new Uint8Array([compressed ? compressed.type : NO_COMPRESSION]);
    this.out.bytes(contents).bytes(type).fixed32(maskCrc(crc32cExtend(crc32c(contents), type)));
    return handle;
  }

  /** Writes the last data block, the metaindex and index blocks and the footer; returns the file. */
  finish(): Uint8Array {
    if (this.finished) throw new Error('TableBuilder: finish called twice');
    this.flush();
    this.finished = true;
    const metaindex = this.writeBlock(new BlockBuilder(TF_TABLE_OPTIONS.restartInterval).finish());
    if (this.pendingHandle) this.addIndexEntry(shortSuccessor(this.lastKey));
    const index = this.writeBlock(this.indexBlock.finish());
    const footer = encodeHandle(encodeHandle(new ByteWriter(FOOTER_SIZE), metaindex), index);
    while (footer.length < MAX_HANDLES_SIZE) footer.byte(0);
    footer.fixed64(TABLE_MAGIC);
    this.out.bytes(footer.finish());
    return this.out.finish();
  }
}

export interface TableEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/**
 * Reads a whole table held in memory, checking everything it can: footer magic, every block's
 * checksum and bounds, restart arrays, key order. Problems throw a UserError naming `fileName`
 * and the byte offset, e.g. `model.ckpt-1000.index: bad block checksum at offset 4096`.
 */
export class TableReader {
  private constructor(
    readonly fileName: string,
    readonly entries: TableEntry[],
  ) {}

  static read(data: Uint8Array, fileName: string): TableReader {
    const fail = (problem: string): never => {
      throw fileError(fileName, problem);
    };
    if (data.length < FOOTER_SIZE) {
      fail(`file is too short to be a table (${data.length} bytes; truncated?)`);
    }
    const footerStart = data.length - FOOTER_SIZE;
    const footer = new ByteReader(data, footerStart);
    const magic = new ByteReader(data, data.length - 8).fixed64();
    if (magic !== TABLE_MAGIC) {
      fail(`bad table magic number in footer at offset ${footerStart} (truncated, or not a checkpoint index)`);
    }
    let metaindex: BlockHandle;
    let index: BlockHandle;
    try {
      metaindex = { offset: footer.varint64Number(), size: footer.varint64Number() };
      index = { offset: footer.varint64Number(), size: footer.varint64Number() };
    } catch {
      return fail(`bad block handle in footer at offset ${footerStart}`);
    }
    if (footer.pos > data.length - 8) fail(`bad block handle in footer at offset ${footerStart}`);
    // LevelDB ignores the padding and accepts over-long varints, but writers zero the one and never
    // write the other: anything but the canonical footer means damage.
    const canonical = encodeHandle(encodeHandle(new ByteWriter(MAX_HANDLES_SIZE), metaindex), index).finish();
    const handles = data.subarray(footerStart, footer.pos);
    if (compareBytes(canonical, handles) !== 0 || data.subarray(footer.pos, data.length - 8).some((b) => b !== 0)) {
      fail(`bad footer at offset ${footerStart}`);
    }

    const reader = new BlockReading(data, footerStart, fileName);
    reader.block(metaindex, 'metaindex'); // checked, then ignored: TensorFlow stores nothing there
    const indexEntries = reader.entries(reader.block(index, 'index'), index.offset, 'index');
    const entries: TableEntry[] = [];
    let previousIndexKey: Uint8Array | null = null;
    for (const ie of indexEntries) {
      let handle: BlockHandle;
      try {
        const hr = new ByteReader(ie.value);
        handle = { offset: hr.varint64Number(), size: hr.varint64Number() };
      } catch {
        return fail(`bad block handle in index block at offset ${index.offset}`);
      }
      const blockEntries = reader.entries(reader.block(handle, 'data'), handle.offset, 'data');
      for (const e of blockEntries) {
        const outOfRange =
          compareBytes(e.key, ie.key) > 0 || (previousIndexKey !== null && compareBytes(e.key, previousIndexKey) <= 0);
        if (outOfRange) fail(`key out of order in data block at offset ${handle.offset}`);
        if (entries.length > 0 && compareBytes(e.key, entries[entries.length - 1].key) <= 0) {
          fail(`key out of order in data block at offset ${handle.offset}`);
        }
        entries.push(e);
      }
      previousIndexKey = ie.key;
    }
    return new TableReader(fileName, entries);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(this.entries[mid].key, key);
      if (c === 0) return this.entries[mid].value;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
}

class BlockReading {
  constructor(
    private readonly data: Uint8Array,
    private readonly limit: number,
    private readonly fileName: string,
  ) {}

  private fail(problem: string): never {
    throw fileError(this.fileName, problem);
  }

  /** The block's contents after checking bounds and checksum, decompressed if needed. */
  block(h: BlockHandle, kind: string): Uint8Array {
    if (h.offset + h.size + BLOCK_TRAILER_SIZE > this.limit) {
      this.fail(`${kind} block at offset ${h.offset} (${h.size} bytes) runs past the end of the file (truncated?)`);
    }
    const contents = this.data.subarray(h.offset, h.offset + h.size);
    const typeByte = this.data.subarray(h.offset + h.size, h.offset + h.size + 1);
    const stored = readFixed32(this.data, h.offset + h.size + 1);
    const actual = crc32cExtend(crc32c(contents), typeByte);
    if (unmaskCrc(stored) !== actual) this.fail(`bad block checksum at offset ${h.offset} (${kind} block)`);
    switch (typeByte[0]) {
      case NO_COMPRESSION:
        return contents;
      case SNAPPY_COMPRESSION:
        try {
          return snappyUncompress(contents);
        } catch (err) {
          if (err instanceof SnappyError) this.fail(`${err.message} in ${kind} block at offset ${h.offset}`);
          throw err;
        }
      default:
        return this.fail(`unknown block compression type ${typeByte[0]} at offset ${h.offset}`);
    }
  }

  /** Decodes a block's entries, checking the restart array and every length against the block. */
  entries(block: Uint8Array, offset: number, kind: string): TableEntry[] {
    const bad = (what: string): never => this.fail(`${what} in ${kind} block at offset ${offset}`);
    if (block.length < 4) bad('block too short');
    const numRestarts = readFixed32(block, block.length - 4);
    const restartsStart = block.length - 4 - numRestarts * 4;
    if (numRestarts < 1 || restartsStart < 0) bad('bad restart array');
    const restarts = new Set<number>();
    for (let i = 0; i < numRestarts; i++) restarts.add(readFixed32(block, restartsStart + i * 4));

    const out: TableEntry[] = [];
    const r = new ByteReader(block, 0, restartsStart);
    let lastKey = new Uint8Array(0);
    let seenRestarts = 0;
    try {
      while (r.pos < restartsStart) {
        const start = r.pos;
        const shared = r.varint32();
        const nonShared = r.varint32();
        const valueLength = r.varint32();
        if (restarts.has(start)) {
          if (shared !== 0) bad(`restart point at ${start} has a shared key prefix`);
          seenRestarts++;
        }
        if (shared > lastKey.length) bad('bad shared key length');
        const suffix = r.bytes(nonShared);
        const key = new Uint8Array(shared + nonShared);
        key.set(lastKey.subarray(0, shared));
        key.set(suffix, shared);
        out.push({ key, value: r.bytes(valueLength) });
        lastKey = key;
      }
    } catch (err) {
      if (err instanceof TruncatedError) bad('entry runs past the end of its block');
      throw err;
    }
    if (out.length > 0 && (seenRestarts !== restarts.size || !restarts.has(0))) bad('bad restart array');
    return out;
  }
}
