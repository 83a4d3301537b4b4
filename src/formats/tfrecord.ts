/**
 * TFRecord files, byte-compatible with TensorFlow's RecordWriter/RecordReader.
 *
 * Each record on disk (after optional GZIP/ZLIB decompression of the whole stream):
 *   uint64 LE length | uint32 LE masked CRC32C(length bytes) | data | uint32 LE masked CRC32C(data)
 *
 * Offsets in error messages count bytes of the (decompressed) record stream.
 */
import { createReadStream, createWriteStream, readFileSync, promises as fsp } from 'node:fs';
import { once } from 'node:events';
import zlib from 'node:zlib';
import type { Readable, Writable } from 'node:stream';
import { fileError } from '../errors.js';
import { maskedCrc32c } from './crc32c.js';
import {
  decodeTFRecords, detectCompression, encodeTFRecords, FOOTER_BYTES, frameRecord, HEADER_BYTES, MAX_RECORD_BYTES, RecordParser,
  type TFRecordCompression, type TFRecordReadOptions,
} from './tfrecord-frame.js';

export { decodeTFRecords, detectCompression, encodeTFRecords, frameRecord, type TFRecordCompression, type TFRecordReadOptions } from './tfrecord-frame.js';
import { tempPathFor, writeFileAtomic, writeFileAtomicSync } from '../util/atomic-write.js';
import { readFailure } from '../util/read-file.js';

export interface TFRecordWriteOptions {
  compression?: TFRecordCompression;
}

function compressSync(bytes: Uint8Array, compression: TFRecordCompression): Uint8Array {
  if (compression === 'gzip') return zlib.gzipSync(bytes);
  if (compression === 'zlib') return zlib.deflateSync(bytes);
  return bytes;
}

/** Writes a whole TFRecord file at once (atomically). */
export function writeTFRecordFileSync(file: string, records: Iterable<Uint8Array>, opts: TFRecordWriteOptions = {}): void {
  writeFileAtomicSync(file, compressSync(encodeTFRecords(records), opts.compression ?? 'none'));
}

export async function writeTFRecordFile(file: string, records: Iterable<Uint8Array>, opts: TFRecordWriteOptions = {}): Promise<void> {
  await writeFileAtomic(file, compressSync(encodeTFRecords(records), opts.compression ?? 'none'));
}

/**
 * Streams records into a file: `await writer.write(bytes)` … `await writer.close()`.
 * The file appears (atomically renamed from a temporary name) only on close; `abort()` removes it.
 */
export class TFRecordWriter {
  private readonly tmp: string;
  private readonly fileStream: Writable;
  private readonly sink: Writable;
  private failure: Error | undefined;
  private closed = false;
  count = 0;

  constructor(readonly file: string, opts: TFRecordWriteOptions = {}) {
    this.tmp = tempPathFor(file);
    this.fileStream = createWriteStream(this.tmp);
    const compression = opts.compression ?? 'none';
    if (compression === 'none') {
      this.sink = this.fileStream;
    } else {
      const z = compression === 'gzip' ? zlib.createGzip() : zlib.createDeflate();
      z.pipe(this.fileStream);
      z.on('error', (e) => (this.failure ??= e));
      this.sink = z;
    }
    this.fileStream.on('error', (e) => (this.failure ??= e));
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.closed) throw new Error(`${this.file}: write after close`);
    if (this.failure) throw this.failure;
    this.count++;
    if (!this.sink.write(frameRecord(data))) await once(this.sink, 'drain');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const finished = once(this.fileStream, 'close');
    this.sink.end();
    await finished;
    if (this.failure) {
      await fsp.rm(this.tmp, { force: true });
      throw this.failure;
    }
    await fsp.rename(this.tmp, this.file);
  }

  async abort(): Promise<void> {
    this.closed = true;
    // The stream opens its file asynchronously: removing it before the stream has closed could run
    // before the open, and the file would appear after the removal.
    const streamClosed = this.fileStream.closed ? undefined : once(this.fileStream, 'close').catch(() => undefined);
    this.sink.destroy();
    this.fileStream.destroy();
    await streamClosed;
    await fsp.rm(this.tmp, { force: true });
  }
}

// ---------------------------------------------------------------- reading

function decompressSync(file: string, bytes: Uint8Array, compression: TFRecordCompression): Uint8Array {
  try {
    if (compression === 'gzip') return zlib.gunzipSync(bytes);
    if (compression === 'zlib') return zlib.inflateSync(bytes);
  } catch (e) {
    throw fileError(file, `bad ${compression.toUpperCase()} data (${(e as Error).message})`);
  }
  return bytes;
}

/** A file-system error while reading `file`, as a one-line UserError naming it. */
function readError(file: string, err: unknown): Error {
  return (err as NodeJS.ErrnoException).code ? readFailure(file, err, 'a TFRecord file') : (err as Error);
}

/** Reads a whole (small) TFRecord file into memory. */
export function readTFRecordFileSync(file: string, opts: TFRecordReadOptions = {}): Uint8Array[] {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    throw readError(file, err);
  }
  const compression = opts.compression && opts.compression !== 'auto' ? opts.compression : detectCompression(raw);
  return decodeTFRecords(decompressSync(file, raw, compression), { ...opts, file });
}

async function readHead(file: string): Promise<Uint8Array> {
  let handle: fsp.FileHandle;
  try {
    // Opening a directory succeeds on Linux; only reading it fails, with an error without the path.
    if ((await fsp.stat(file)).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    handle = await fsp.open(file, 'r');
  } catch (err) {
    throw readError(file, err);
  }
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEADER_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } catch (err) {
    throw readError(file, err);
  } finally {
    await handle.close();
  }
}

/**
 * Streams the records of a TFRecord file without loading it whole. Each yielded array is a copy
 * the caller may keep.
 */
export async function* readTFRecords(file: string, opts: TFRecordReadOptions = {}): AsyncGenerator<Uint8Array> {
  const head = await readHead(file);
  const compression = opts.compression && opts.compression !== 'auto' ? opts.compression : detectCompression(head);
  const fileStream = createReadStream(file, { highWaterMark: 1 << 20 });
  let source: Readable = fileStream;
  if (compression !== 'none') {
    const z = compression === 'gzip' ? zlib.createGunzip() : zlib.createInflate();
    fileStream.on('error', (e) => z.destroy(e));
    source = fileStream.pipe(z);
  }
  const parser = new RecordParser(file, opts);
  let pending: Uint8Array = new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let chunkBytes = 0;
  let needed = HEADER_BYTES;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      chunkBytes += chunk.length;
      // Wait until a whole record is buffered: avoids re-copying big records once per chunk.
      if (pending.length + chunkBytes < needed) continue;
      pending = pending.length ? Buffer.concat([pending, ...chunks]) : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      chunks.length = 0;
      chunkBytes = 0;
      const out: Uint8Array[] = [];
      const used = parser.parse(pending, out);
      pending = pending.subarray(used);
      needed = nextNeed(pending);
      for (const r of out) yield r;
      if (parser.stopped) return;
    }
  } catch (e) {
    if (e instanceof Error && 'code' in e && String((e as NodeJS.ErrnoException).code).startsWith('Z_')) {
      throw fileError(file, `bad ${compression.toUpperCase()} data (${e.message})`);
    }
    throw readError(file, e);
  } finally {
    fileStream.destroy();
    source.destroy();
  }
  const rest = chunks.length ? Buffer.concat([pending, ...chunks]) : pending;
  const out: Uint8Array[] = [];
  const used = parser.parse(rest, out);
  for (const r of out) yield r;
  parser.finish(rest.length - used);
}

/** How many bytes the parser needs before it can make progress on `pending`. */
function nextNeed(pending: Uint8Array): number {
  if (pending.length < HEADER_BYTES) return HEADER_BYTES;
  const view = new DataView(pending.buffer, pending.byteOffset, HEADER_BYTES);
  const length = view.getBigUint64(0, true);
  // A corrupt header: the parser reports it as soon as it sees it.
  if (maskedCrc32c(pending.subarray(0, 8)) !== view.getUint32(8, true)) return HEADER_BYTES;
  if (length > BigInt(MAX_RECORD_BYTES)) return HEADER_BYTES;
  return HEADER_BYTES + Number(length) + FOOTER_BYTES;
}
