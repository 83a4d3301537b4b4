/**
 * V1 checkpoints (`tf.train.Saver(write_version=V1)`, TensorFlow before 0.12 by default): one file
 * per shard, named by the prefix itself (`model.ckpt`, `model.ckpt-1000`, or
 * `model.ckpt-00000-of-00002` when sharded), each an SSTable of `SavedTensorSlices`
 * (proto/saved_tensor_slice.proto): the empty key holds every tensor's name, shape, dtype and
 * slices; every other record one slice's values. Partitioned variables (several slices) are put
 * back together. The result is handed to CheckpointReader as an in-memory V2 bundle, so every
 * command that reads V2 checkpoints reads V1 ones the same way.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { fileError } from '../errors.js';
import { indexFileName, writeBundle, type BundleFiles } from '../formats/bundle.js';
import { shapeFromProto, tensorFromProto, type TensorProto, type TensorShapeProto } from '../formats/graphdef.js';
import { DTYPES, dtypeEnum, dtypeFromEnum, elementCount, zerosData, type TensorData, type TensorDType, type TensorValue } from '../formats/tensor-value.js';
import { protoType } from '../formats/protos.js';
import { TableReader, TABLE_MAGIC } from '../formats/sstable.js';
import { getCheckpointState } from './state.js';

interface Extent {
  start?: number;
  length?: number;
}
interface SliceMessage {
  extent?: Extent[];
}
interface SliceMeta {
  name?: string;
  shape?: TensorShapeProto;
  type?: string;
  slice?: SliceMessage[];
}
interface SavedTensorSlicesMessage {
  meta?: { tensor?: SliceMeta[]; versions?: { producer?: number } };
  data?: { name?: string; slice?: SliceMessage; data?: TensorProto };
}

const DECODE: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: false, arrays: true };
const SHARD_SUFFIX = /-\d{5}-of-(\d{5})$/;
const V2_FILE = /\.(index|meta|data-\d{5}-of-\d{5})$/;

/** The shard files of a V1 checkpoint `prefix` (itself, or `prefix-?????-of-NNNNN`), or null. */
function v1Files(prefix: string): string[] | null {
  if (existsSync(indexFileName(prefix)) || V2_FILE.test(prefix)) return null; // a V2 checkpoint or one of its files
  if (existsSync(prefix) && statSync(prefix).isFile()) return isTableFile(prefix) ? [prefix] : null;
  const dir = path.dirname(prefix);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  const base = path.basename(prefix);
  const shards = readdirSync(dir)
    .filter((f) => f.startsWith(base) && SHARD_SUFFIX.test(f) && f.slice(0, -'-00000-of-00000'.length) === base)
    .sort()
    .map((f) => path.join(dir, f));
  return shards.length && shards.every(isTableFile) ? shards : null;
}

/** An SSTable ends in its magic number; anything else is not a V1 checkpoint. */
function isTableFile(file: string): boolean {
  const bytes = readFileSync(file);
  if (bytes.length < 8) return false;
  return new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 8).getBigUint64(0, true) === TABLE_MAGIC;
}

/**
 * When `prefixOrDir` names a V1 checkpoint (its file, its prefix, or a directory whose `checkpoint`
 * state file names one), its files; otherwise null (then it is read as a V2 checkpoint).
 */
export function findV1Checkpoint(prefixOrDir: string): { prefix: string; files: string[] } | null {
  let prefix = prefixOrDir;
  if (existsSync(prefixOrDir) && statSync(prefixOrDir).isDirectory()) {
    const state = getCheckpointState(prefixOrDir);
    if (state === null) return null;
    prefix = state.modelCheckpointPath;
  }
  // A shard file named directly: its siblings make up the checkpoint.
  if (SHARD_SUFFIX.test(prefix) && !V2_FILE.test(prefix) && existsSync(prefix)) {
    const base = prefix.replace(SHARD_SUFFIX, '');
    const shards = v1Files(base);
    if (shards) return { prefix: base, files: shards };
  }
  const files = v1Files(prefix);
  return files ? { prefix, files } : null;
}

interface Assembly {
  file: string;
  dtype: TensorDType;
  shape: number[];
  data: TensorData;
  filled: number;
}

function decodeRecord(value: Uint8Array, where: string): SavedTensorSlicesMessage {
  const type = protoType('tensorflow.SavedTensorSlices');
  try {
    return type.toObject(type.decode(value), DECODE) as SavedTensorSlicesMessage;
  } catch (err) {
    throw fileError(where, `not a V1 checkpoint record (protobuf decoding failed: ${(err as Error).message.replace(/\s+/g, ' ')})`);
  }
}

/** Where the slice sits in the full tensor: start and length per dimension (a missing length = the whole dimension). */
function sliceBox(slice: SliceMessage | undefined, shape: number[], file: string, name: string): { start: number[]; size: number[] } {
  const extents = slice?.extent ?? [];
  // TensorFlow writes an empty extent list for "the whole tensor".
  if (extents.length && extents.length !== shape.length) throw fileError(file, `tensor "${name}": a slice of rank ${extents.length} for shape [${shape.join(', ')}]`);
  const start = shape.map((_, d) => extents[d]?.start ?? 0);
  const size = shape.map((dim, d) => (extents[d]?.length === undefined ? dim - start[d] : extents[d].length!));
  shape.forEach((dim, d) => {
    if (start[d] < 0 || size[d] < 0 || start[d] + size[d] > dim) throw fileError(file, `tensor "${name}": slice [${start[d]}, +${size[d]}) outside dimension ${d} of size ${dim}`);
  });
  return { start, size };
}

/** Copies a slice's values (row-major within the box) into the full tensor. */
function place(a: Assembly, box: { start: number[]; size: number[] }, values: TensorData): void {
  const rank = a.shape.length;
  const strides = a.shape.map((_, d) => a.shape.slice(d + 1).reduce((x, y) => x * y, 1));
  const index = new Array<number>(rank).fill(0);
  const dst = a.data as unknown as Array<unknown>;
  const src = values as unknown as Array<unknown>;
  for (let i = 0; i < values.length; i++) {
    let offset = 0;
    for (let d = 0; d < rank; d++) offset += (box.start[d] + index[d]) * strides[d];
    dst[offset] = src[i];
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < box.size[d]) break;
      index[d] = 0;
    }
  }
  a.filled += values.length;
}

/** Every tensor of a V1 checkpoint, slices put together, checked for completeness. */
export function readV1Tensors(files: string[]): Map<string, TensorValue> {
  const tensors = new Map<string, Assembly>();
  for (const file of files) {
    const table = TableReader.read(readFileSync(file), file);
    const [head, ...records] = table.entries;
    const meta = head && head.key.length === 0 ? decodeRecord(head.value, file).meta : undefined;
    if (!meta) throw fileError(file, 'not a V1 checkpoint (no SavedTensorSliceMeta record under the empty key)');
    for (const t of meta.tensor ?? []) {
      const name = t.name ?? '';
      const tfType = t.type ?? 'DT_INVALID';
      const dtype = dtypeFromEnum(tfType);
      if (!dtype) throw fileError(file, `tensor "${name}" has dtype ${tfType}, which mnist-ts cannot read`);
      const shape = shapeFromProto(t.shape) ?? [];
      if (shape.some((d) => d < 0)) throw fileError(file, `tensor "${name}" has an unknown dimension in shape [${shape.join(', ')}]`);
      const known = tensors.get(name);
      if (known && (known.dtype !== dtype || known.shape.join() !== shape.join())) throw fileError(file, `tensor "${name}" is ${dtype}[${shape}] here but ${known.dtype}[${known.shape}] in ${known.file}`);
      if (!known) tensors.set(name, { file, dtype, shape, data: zerosData(dtype, elementCount(shape)), filled: 0 });
    }
    for (const [i, record] of records.entries()) {
      const slice = decodeRecord(record.value, file).data;
      const where = `${file}: record ${i + 1}`;
      if (!slice?.name) throw fileError(where, 'a V1 checkpoint record without a tensor slice');
      const a = tensors.get(slice.name);
      if (!a) throw fileError(file, `tensor "${slice.name}" has data but is not in the checkpoint's table of contents`);
      const box = sliceBox(slice.slice, a.shape, file, slice.name);
      const n = box.size.reduce((x, y) => x * y, 1);
      const proto: TensorProto = { ...(slice.data ?? {}), dtype: dtypeEnum(a.dtype), tensor_shape: { dim: box.size.map((size) => ({ size })) } };
      const stored = (proto[DTYPES[a.dtype].valueField] as ArrayLike<unknown> | undefined)?.length ?? 0;
      if (!proto.tensor_content?.length && stored !== n) throw fileError(file, `tensor "${slice.name}": a slice of ${n} values holds ${stored}`);
      const values = tensorFromProto(proto, where).data;
      place(a, box, a.dtype === 'bool' ? Uint8Array.from(values as Uint8Array) : values);
    }
  }
  const out = new Map<string, TensorValue>();
  for (const [name, a] of tensors) {
    const n = elementCount(a.shape);
    if (a.filled < n) throw fileError(a.file, `tensor "${name}": its slices hold ${a.filled} of ${n} values (a shard missing?)`);
    out.set(name, { dtype: a.dtype, shape: a.shape, data: a.data });
  }
  return out;
}

/** A V1 checkpoint as the bytes of an equivalent single-shard V2 bundle (index + data). */
export function v1AsBundle(files: string[]): BundleFiles {
  return writeBundle(readV1Tensors(files));
}
