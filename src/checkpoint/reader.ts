/**
 * Reads a TensorFlow V2 checkpoint (TensorFlow's NewCheckpointReader / BundleReader):
 * names, dtypes and shapes from `PREFIX.index`, tensor values from the data shards. Every block
 * checksum is verified when the checkpoint is opened and every tensor checksum when the tensor is
 * read; any damage is a one-line UserError naming the file.
 *
 * The data files are read whole when the checkpoint is opened, so a checkpoint that a trainer
 * deletes (max_to_keep) after we opened it still reads consistently.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileError, UserError } from '../errors.js';
import { crc32c, unmaskCrc } from '../formats/crc32c.js';
import {
  dataFileName,
  decodeTensor,
  indexFileName,
  readBundleIndex,
  type BundleEntry,
  type BundleHeader,
} from '../formats/bundle.js';
import type { TensorDType, TensorValue } from '../formats/tensor-value.js';
import { latestCheckpoint } from './state.js';
import { readFailure } from '../util/read-file.js';
import { findV1Checkpoint, v1AsBundle } from './v1-reader.js';

export interface TensorInfo {
  dtype: TensorDType;
  shape: number[];
}

const CHECKPOINT_FILE_SUFFIX = /\.(index|meta|data-\d{5}-of-\d{5})$/;

/** The checkpoint prefix a user means by `prefixOrDir`: a prefix, one of its files, or a directory. */
export function resolveCheckpointPrefix(prefixOrDir: string): string {
  if (existsSync(prefixOrDir) && statSync(prefixOrDir).isDirectory()) {
    const latest = latestCheckpoint(prefixOrDir);
    if (latest === null) throw fileError(prefixOrDir, 'no checkpoint found in this directory (no "checkpoint" state file naming one)');
    return latest;
  }
  if (existsSync(indexFileName(prefixOrDir))) return prefixOrDir;
  if (CHECKPOINT_FILE_SUFFIX.test(prefixOrDir) && existsSync(prefixOrDir)) return prefixOrDir.replace(CHECKPOINT_FILE_SUFFIX, '');
  throw fileError(prefixOrDir, `no checkpoint here (${indexFileName(prefixOrDir)} does not exist)`);
}

export class CheckpointReader {
  private readonly byName: Map<string, BundleEntry>;

  private constructor(
    readonly prefix: string,
    readonly header: BundleHeader,
    private readonly entryList: BundleEntry[],
    private readonly shards: Uint8Array[],
  ) {
    this.byName = new Map(entryList.map((e) => [e.name, e]));
  }

  /** Opens a checkpoint by prefix (`runs/mlp/model.ckpt-1000`), by one of its files, or by directory (→ latest). */
  static open(prefixOrDir: string): CheckpointReader {
    const v1 = findV1Checkpoint(prefixOrDir);
    if (v1) {
      const bundle = v1AsBundle(v1.files);
      const index = readBundleIndex(bundle.index, v1.prefix);
      return new CheckpointReader(v1.prefix, index.header, index.entries, [bundle.data]);
    }
    const prefix = resolveCheckpointPrefix(prefixOrDir);
    const indexFile = indexFileName(prefix);
    const index = readBundleIndex(readOrFail(indexFile, 'index file'), indexFile);
    const shards: Uint8Array[] = [];
    for (let s = 0; s < index.header.numShards; s++) {
      shards.push(readOrFail(dataFileName(prefix, s, index.header.numShards), 'data file (incomplete checkpoint?)'));
    }
    for (const e of index.entries) {
      if (e.sliced) continue;
      const file = dataFileName(prefix, e.shardId, index.header.numShards);
      const shard = shards[e.shardId];
      if (e.offset + e.size > shard.length) {
        throw fileError(file, `tensor "${e.name}" (bytes ${e.offset}..${e.offset + e.size}) runs past the end of the file (${shard.length} bytes; truncated?)`);
      }
    }
    return new CheckpointReader(prefix, index.header, index.entries, shards);
  }

  /** Tensor names in key (bytewise) order. */
  names(): string[] {
    return this.entryList.map((e) => e.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The raw index entries (including tensors of dtypes we cannot decode, marked dtype null). */
  entries(): readonly BundleEntry[] {
    return this.entryList;
  }

  info(name: string): TensorInfo {
    const e = this.entry(name);
    if (e.dtype === null) throw fileError(indexFileName(this.prefix), `tensor "${name}" has dtype ${e.tfDType}, which mnist-ts cannot read`);
    return { dtype: e.dtype, shape: [...e.shape] };
  }

  /** Reads one tensor, verifying its checksum. */
  tensor(name: string): TensorValue {
    const e = this.entry(name);
    return decodeTensor(e, this.shards[e.shardId], dataFileName(this.prefix, e.shardId, this.header.numShards));
  }

  variableToShapeMap(): Record<string, number[]> {
    return Object.fromEntries(this.entryList.map((e) => [e.name, [...e.shape]]));
  }

  variableToDtypeMap(): Record<string, string> {
    return Object.fromEntries(this.entryList.map((e) => [e.name, e.dtype ?? e.tfDType]));
  }

  /**
   * Checks every tensor's CRC32C against its stored bytes without decoding them (no copies): one
   * pass over the data files. String tensors, whose checksum covers their lengths too, are decoded.
   */
  verifyChecksums(): void {
    for (const e of this.entryList) {
      if (e.sliced || e.dtype === null) continue;
      if (e.dtype === 'string') {
        this.tensor(e.name);
        continue;
      }
      const bytes = this.shards[e.shardId].subarray(e.offset, e.offset + e.size);
      if (crc32c(bytes) !== unmaskCrc(e.crc32c)) {
        throw fileError(dataFileName(this.prefix, e.shardId, this.header.numShards), `tensor "${e.name}": checksum mismatch at offset ${e.offset} (file corrupt)`);
      }
    }
  }

  /** Reads every tensor once, so any corruption anywhere surfaces now. */
  verifyAll(): void {
    for (const e of this.entryList) if (e.dtype !== null && !e.sliced) this.tensor(e.name);
  }

  private entry(name: string): BundleEntry {
    const e = this.byName.get(name);
    if (!e) throw new UserError(`${this.prefix}: no tensor named "${name}" in the checkpoint`);
    return e;
  }
}

function readOrFail(file: string, what: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fileError(file, `missing ${what}`);
    throw readFailure(file, err, `the ${what}`);
  }
}
