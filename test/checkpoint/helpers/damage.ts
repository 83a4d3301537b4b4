import { readFileSync, writeFileSync } from 'node:fs';
import { CheckpointReader } from '../../../src/checkpoint/reader.js';
import { dataFileName } from '../../../src/formats/bundle.js';

/** Flips one byte in the middle of a tensor's stored bytes (its CRC32C no longer matches). */
export function corruptTensor(prefix: string, tensor: string): string {
  const entry = CheckpointReader.open(prefix).entries().find((e) => e.name === tensor);
  if (!entry) throw new Error(`no tensor ${tensor} in ${prefix}`);
  const file = dataFileName(prefix, entry.shardId, 1);
  const bytes = readFileSync(file);
  bytes[entry.offset + (entry.size >> 1)] ^= 0x40;
  writeFileSync(file, bytes);
  return file;
}
