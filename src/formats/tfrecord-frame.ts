/**
 * TFRecord framing over bytes, byte-compatible with TensorFlow's RecordWriter/RecordReader, with
 * no Node module (tfrecord.ts adds files, streams and compression on top).
 *
 * Each record (after optional GZIP/ZLIB decompression of the whole stream):
 *   uint64 LE length | uint32 LE masked CRC32C(length bytes) | data | uint32 LE masked CRC32C(data)
 *
 * Offsets in error messages count bytes of the (decompressed) record stream.
 */
import { concatBytes } from './bytes.js';
import { maskedCrc32c } from './crc32c.js';
import { fileError } from '../errors.js';

export type TFRecordCompression = 'none' | 'gzip' | 'zlib';

export interface TFRecordReadOptions {
  /** How the file is compressed; 'auto' (default) looks at the first bytes. */
  compression?: TFRecordCompression | 'auto';
  /** Skip corrupt records (with a warning) instead of throwing. After a bad length header or a
   *  truncated record nothing later in the file can be trusted, so the rest of that file is skipped. */
  skipCorrupt?: boolean;
  /** Receives skip warnings; default prints `warning: …` on stderr. */
  onWarning?: (message: string) => void;
}

export const HEADER_BYTES = 12;
export const FOOTER_BYTES = 4;
/** A length above this is surely a corrupt header (TF has no such limit, but JS buffers do). */
export const MAX_RECORD_BYTES = 2 ** 31 - 1;

/** The on-disk framing of one record (before compression). */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + data.length + FOOTER_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + data.length, maskedCrc32c(data), true);
  return out;
}

/** All records framed and concatenated (uncompressed). */
export function encodeTFRecords(records: Iterable<Uint8Array>): Uint8Array {
  return concatBytes(Array.from(records, frameRecord));
}

function defaultWarn(message: string): void {
  console.warn(`warning: ${message}`);
}

/** Decides the compression of a file from its first bytes (a valid plain header wins). */
export function detectCompression(head: Uint8Array): TFRecordCompression {
  if (head.length >= HEADER_BYTES) {
    const view = new DataView(head.buffer, head.byteOffset, head.length);
    if (maskedCrc32c(head.subarray(0, 8)) === view.getUint32(8, true)) return 'none';
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 2 && (head[0] & 0x0f) === 8 && ((head[0] << 8) | head[1]) % 31 === 0) return 'zlib';
  return 'none';
}

/**
 * Parses framed records from an in-memory buffer. Used by the sync API and by the stream reader
 * for each batch of bytes it holds; returns where parsing stopped (start of an incomplete record).
 */
export class RecordParser {
  offset = 0; // stream offset of buf[0]
  stopped = false;
  constructor(
    private readonly file: string,
    private readonly opts: TFRecordReadOptions,
  ) {}

  private corrupt(problem: string, at: number, fatalForFile: boolean): void {
    const message = `${problem} at offset ${at}`;
    if (!this.opts.skipCorrupt) throw fileError(this.file, message);
    (this.opts.onWarning ?? defaultWarn)(
      `${this.file}: ${message}; ${fatalForFile ? 'skipping the rest of the file' : 'skipping the record'}`,
    );
    if (fatalForFile) this.stopped = true;
  }

  /** Pulls complete records out of buf; returns how many bytes were consumed. */
  parse(buf: Uint8Array, out: Uint8Array[]): number {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    let pos = 0;
    while (!this.stopped && buf.length - pos >= HEADER_BYTES) {
      const at = this.offset + pos;
      const length = view.getBigUint64(pos, true);
      if (maskedCrc32c(buf.subarray(pos, pos + 8)) !== view.getUint32(pos + 8, true)) {
        this.corrupt('corrupt record length (CRC mismatch)', at, true);
        break;
      }
      if (length > BigInt(MAX_RECORD_BYTES)) {
        this.corrupt(`record length ${length} too large`, at, true);
        break;
      }
      const n = Number(length);
      if (buf.length - pos < HEADER_BYTES + n + FOOTER_BYTES) break;
      const data = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + n);
      const stored = view.getUint32(pos + HEADER_BYTES + n, true);
      pos += HEADER_BYTES + n + FOOTER_BYTES;
      if (maskedCrc32c(data) !== stored) {
        this.corrupt('corrupt record data (CRC mismatch)', at, false);
        continue;
      }
      out.push(data.slice());
    }
    this.offset += pos;
    return pos;
  }

  finish(leftover: number): void {
    if (!this.stopped && leftover > 0) this.corrupt(`truncated record (${leftover} trailing bytes)`, this.offset, true);
  }
}

/** Splits a whole TFRecord byte stream (already decompressed) into records, checking every CRC. */
export function decodeTFRecords(bytes: Uint8Array, opts: TFRecordReadOptions & { file?: string } = {}): Uint8Array[] {
  const parser = new RecordParser(opts.file ?? 'tfrecord', opts);
  const out: Uint8Array[] = [];
  const used = parser.parse(bytes, out);
  parser.finish(bytes.length - used);
  return out;
}
