import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileError } from '../errors.js';
import { parseIdxBytes, type IdxArray } from '../formats/idx.js';

export { encodeIdx, type IdxArray } from '../formats/idx.js';

/** Parses an IDX file's bytes; gzipped ones (any file starting with the gzip magic) are inflated first. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  let buf = bytes;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw fileError(file, `corrupt gzip data (${(err as Error).message})`);
    }
  }
  return parseIdxBytes(buf, file);
}

export function readIdxFile(file: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fileError(file, code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  return parseIdx(bytes, file);
}
