import { fileError } from '../errors.js';
import { dataFileName, decodeTensor, readBundleIndex, type BundleEntry } from './bundle.js';
import type { TensorValue } from './tensor-value.js';

export interface CheckpointBytes {
  /** The `.index` file's bytes. */
  index: Uint8Array;
  /** The `.data-0000N-of-0000M` files' bytes, in shard order. */
  shards: Uint8Array[];
}

/**
 * A TensorFlow V2 checkpoint (tensor bundle) held in memory — fetched in a browser, say — read
 * without any file system: list its tensors, decode any of them (CRC32C checked).
 */
export class CheckpointBytesReader {
  private readonly entries = new Map<string, BundleEntry>();

  constructor(
    private readonly files: CheckpointBytes,
    private readonly name = 'checkpoint',
  ) {
    const { header, entries } = readBundleIndex(files.index, `${name}.index`);
    if (header.numShards !== files.shards.length) {
      throw fileError(`${name}.index`, `the checkpoint has ${header.numShards} data shard(s), ${files.shards.length} given`);
    }
    for (const e of entries) this.entries.set(e.name, e);
  }

  /** Tensor names, in the checkpoint's (sorted) order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  entry(name: string): BundleEntry | undefined {
    return this.entries.get(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  tensor(name: string): TensorValue {
    const e = this.entries.get(name);
    if (!e) throw fileError(`${this.name}.index`, `no tensor "${name}" (has ${this.names().slice(0, 8).join(', ')}${this.entries.size > 8 ? ', …' : ''})`);
    return decodeTensor(e, this.files.shards[e.shardId], dataFileName(this.name, e.shardId, this.files.shards.length));
  }
}
