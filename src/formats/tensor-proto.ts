/**
 * TensorProto ↔ typed arrays, with sizes checked against the message before anything is allocated.
 */
import { fileError } from '../errors.js';
import { TensorProto, TensorShapeProto } from './graph-messages.js';
import { DTYPES, dtypeEnum, dtypeFromEnum, numericDataFromBytes, zerosData, type NumericData, type TensorValue } from './tensor-value.js';

export function shapeProto(shape: ReadonlyArray<number | null>): TensorShapeProto {
  return { dim: shape.map((d) => ({ size: d ?? -1 })) };
}

/** Dimensions of a shape (-1 for unknown), or undefined for an unknown rank. */
export function shapeFromProto(shape: TensorShapeProto | undefined): number[] | undefined {
  if (!shape || shape.unknown_rank) return undefined;
  // proto3 leaves a zero size out.
  return (shape.dim ?? []).map((d) => Number(d.size ?? 0));
}

/**
 * A constant written as a few values repeated to fill its shape may not grow beyond this many
 * bytes: far more than any MNIST model needs, and small enough to allocate; beyond it the shape
 * is surely damaged.
 */
export const MAX_FILLED_CONSTANT_BYTES = 256 * 2 ** 20;

/** A shape as messages show it, huge dimensions (which lost their precision as numbers) as "huge". */
function shapeText(shape: number[]): string {
  return `[${shape.map((d) => (Number.isSafeInteger(d) ? String(d) : 'huge')).join(', ')}]`;
}

/** The element count of a constant's shape, after checking every dimension is a real size. */
function constantElementCount(shape: number[], where: string): number {
  if (shape.some((d) => d === -1)) throw fileError(where, `constant tensor has an unknown dimension in shape ${shapeText(shape)}`);
  if (shape.some((d) => d < 0)) throw fileError(where, `constant tensor has a negative dimension in shape ${shapeText(shape)} (damaged file?)`);
  if (shape.some((d) => !Number.isSafeInteger(d))) throw fileError(where, `constant tensor has a dimension too large for any tensor in shape ${shapeText(shape)} (damaged file?)`);
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) {
      if (shape.includes(0)) return 0;
      throw fileError(where, `constant tensor of shape ${shapeText(shape)} has too many elements (damaged file?)`);
    }
  }
  return n;
}

/**
 * A TensorProto's values: from `tensor_content` (little-endian bytes) or the typed value list,
 * where fewer values than elements repeat the last one (TensorFlow's rule for `Const` protos).
 * Sizes are checked against the stored bytes, or against MAX_FILLED_CONSTANT_BYTES, before
 * anything is allocated.
 */
export function tensorFromProto(proto: TensorProto, where: string): TensorValue {
  const dtype = dtypeFromEnum(proto.dtype);
  if (!dtype) throw fileError(where, `tensor of type ${proto.dtype} is not supported`);
  const shape = shapeFromProto(proto.tensor_shape) ?? [];
  const n = constantElementCount(shape, where);
  const tooBig = (bytes: number): never => {
    throw fileError(where, `constant of shape ${shapeText(shape)} filled from ${dtype} values would take ${bytes} bytes, more than the ${MAX_FILLED_CONSTANT_BYTES} allowed (damaged file?)`);
  };
  if (dtype === 'string') {
    const values = proto.string_val ?? [];
    if (values.length > n) throw fileError(where, `tensor has ${values.length} strings for shape ${shapeText(shape)}`);
    const last = values.length ? values[values.length - 1].length : 0;
    const bytes = values.reduce((sum, v) => sum + v.length + 16, 0) + (n - values.length) * (last + 16);
    if (bytes > MAX_FILLED_CONSTANT_BYTES) tooBig(bytes);
    return { dtype, shape, data: Array.from({ length: n }, (_, i) => Uint8Array.from(values[Math.min(i, values.length - 1)] ?? new Uint8Array())) };
  }
  const bytesPerElement = DTYPES[dtype].bytes;
  const content = proto.tensor_content;
  if (content && content.length) {
    const expected = n * bytesPerElement;
    if (content.length !== expected) throw fileError(where, `tensor_content has ${content.length} bytes, expected ${expected} for ${dtype}${shapeText(shape)}`);
    return { dtype, shape, data: numericDataFromBytes(dtype, content) };
  }
  const list = (proto[DTYPES[dtype].valueField] ?? []) as ArrayLike<number | boolean>;
  if (list.length > n) throw fileError(where, `tensor has ${list.length} values for shape ${shapeText(shape)}`);
  if (n * bytesPerElement > MAX_FILLED_CONSTANT_BYTES) tooBig(n * bytesPerElement);
  const out = zerosData(dtype, n) as NumericData;
  for (let i = 0; i < n && list.length; i++) {
    const v = list[Math.min(i, list.length - 1)];
    if (out instanceof BigInt64Array) out[i] = BigInt(v as number);
    else out[i] = Number(v);
  }
  return { dtype, shape, data: out };
}

/**
 * A TensorProto the way TensorFlow's make_tensor_proto writes one: scalars in the typed value
 * list, everything else as `tensor_content` bytes.
 */
export function tensorProto(value: TensorValue): TensorProto {
  const proto: TensorProto = { dtype: dtypeEnum(value.dtype), tensor_shape: shapeProto(value.shape) };
  const data = value.data;
  if (Array.isArray(data)) {
    proto.string_val = data;
  } else if (value.shape.length === 0) {
    const v = data[0];
    Object.assign(proto, { [DTYPES[value.dtype].valueField]: [value.dtype === 'bool' ? Boolean(v) : Number(v)] });
  } else {
    proto.tensor_content = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  return proto;
}
