/**
 * tf.train.Example / Features / Feature (proto/example.proto, proto/feature.proto) and
 * TensorFlow's parse_single_example with FixedLenFeature and VarLenFeature.
 *
 * int64 values are always `bigint` on the way out (decoded Features, parsed int64 features as
 * BigInt64Array), so nothing above 2^53 is silently rounded; on the way in, `number` is accepted
 * when it is a safe integer. Map entries are encoded in sorted key order (protobuf's
 * deterministic serialization), so the same Example always gives the same bytes.
 */
import { decodeFailure, protoType } from './protos.js';
import { fileError, UserError } from '../errors.js';

export type Feature =
  | { bytesList: Uint8Array[] }
  | { floatList: Float32Array | number[] }
  | { int64List: bigint[] | BigInt64Array | number[] };

/** A decoded Example: feature name → one of the three lists. */
export type Features = Record<string, Feature>;

/** Decoded features always come back in this exact form. */
export type DecodedFeature = { bytesList: Uint8Array[] } | { floatList: Float32Array } | { int64List: bigint[] };

export const bytesFeature = (...values: Array<Uint8Array | string>): Feature => ({
  bytesList: values.map((v) => (typeof v === 'string' ? new TextEncoder().encode(v) : v)),
});
export const floatFeature = (...values: number[]): Feature => ({ floatList: values });
export const int64Feature = (...values: Array<number | bigint>): Feature => ({ int64List: values.map(toBigInt) });

function toBigInt(v: number | bigint): bigint {
  if (typeof v === 'bigint') return BigInt.asIntN(64, v);
  if (!Number.isSafeInteger(v)) throw new UserError(`int64 feature value ${v} is not a safe integer; pass a bigint`);
  return BigInt(v);
}

interface LongLike {
  low: number;
  high: number;
}

function longToBigInt(v: number | LongLike): bigint {
  if (typeof v === 'number') return BigInt(v);
  return (BigInt(v.high) << 32n) | BigInt(v.low >>> 0);
}

function bigIntToLong(v: bigint): LongLike & { unsigned: boolean } {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: false };
}

/** Serializes Example{features{feature: …}} to bytes. */
export function encodeExample(features: Features): Uint8Array {
  const feature: Record<string, unknown> = {};
  for (const key of Object.keys(features).sort()) {
    const f = features[key];
    if ('bytesList' in f) feature[key] = { bytes_list: { value: f.bytesList } };
    else if ('floatList' in f) feature[key] = { float_list: { value: Array.from(f.floatList) } };
    else if ('int64List' in f) feature[key] = { int64_list: { value: Array.from(f.int64List as ArrayLike<number | bigint>, (v) => bigIntToLong(toBigInt(v))) } };
    else throw new UserError(`feature ${key}: expected bytesList, floatList or int64List`);
  }
  const type = protoType('tensorflow.Example');
  return type.encode(type.fromObject({ features: { feature } })).finish();
}

/** Parses serialized Example bytes; `source` names the input in error messages. */
export function decodeExample(bytes: Uint8Array, source = 'example'): Record<string, DecodedFeature> {
  let msg: any;
  try {
    msg = protoType('tensorflow.Example').decode(bytes);
  } catch (e) {
    throw fileError(source, `not a tf.train.Example (${decodeFailure(e)})`);
  }
  const out: Record<string, DecodedFeature> = {};
  const map: Record<string, any> = msg.features?.feature ?? {};
  for (const key of Object.keys(map)) {
    const f = map[key];
    // A map entry without its value is, in protobuf, a Feature with no kind set (as below).
    if (!f) out[key] = { bytesList: [] };
    else if (f.bytes_list) out[key] = { bytesList: (f.bytes_list.value ?? []) as Uint8Array[] };
    else if (f.float_list) out[key] = { floatList: Float32Array.from(f.float_list.value ?? []) };
    else if (f.int64_list) out[key] = { int64List: (f.int64_list.value ?? []).map(longToBigInt) };
    else out[key] = { bytesList: [] }; // a Feature with no kind set: TF treats it as an empty list
  }
  return out;
}

// ---------------------------------------------------------------- parse_single_example

export type FeatureDtype = 'int64' | 'float32' | 'string';

export type DenseValues<D extends FeatureDtype = FeatureDtype> = D extends 'int64'
  ? BigInt64Array
  : D extends 'float32'
    ? Float32Array
    : Uint8Array[];

export interface FixedLenFeature {
  kind: 'fixed';
  shape: number[];
  dtype: FeatureDtype;
  /** Used when the feature is missing; a scalar is broadcast to the shape. */
  defaultValue?: number | bigint | string | Uint8Array | ArrayLike<number | bigint> | Uint8Array[];
}

export interface VarLenFeature {
  kind: 'var';
  dtype: FeatureDtype;
}

export function fixedLenFeature(shape: number[], dtype: FeatureDtype, defaultValue?: FixedLenFeature['defaultValue']): FixedLenFeature {
  return { kind: 'fixed', shape, dtype, defaultValue };
}

export function varLenFeature(dtype: FeatureDtype): VarLenFeature {
  return { kind: 'var', dtype };
}

/** A parsed FixedLenFeature: values in row-major order with the requested shape. */
export interface DenseFeature {
  dtype: FeatureDtype;
  shape: number[];
  values: BigInt64Array | Float32Array | Uint8Array[];
}

/** A parsed VarLenFeature, as TF's SparseTensor for one example: indices [[0],[1],…], dense_shape [n]. */
export interface SparseFeature {
  dtype: FeatureDtype;
  indices: number[][];
  values: BigInt64Array | Float32Array | Uint8Array[];
  denseShape: [number];
}

export type FeatureSpec = Record<string, FixedLenFeature | VarLenFeature>;
export type ParsedExample<S extends FeatureSpec> = {
  [K in keyof S]: S[K] extends VarLenFeature ? SparseFeature : DenseFeature;
};

function kindOf(f: DecodedFeature): FeatureDtype {
  if ('bytesList' in f) return 'string';
  if ('floatList' in f) return 'float32';
  return 'int64';
}

function valuesOf(f: DecodedFeature): BigInt64Array | Float32Array | Uint8Array[] {
  if ('bytesList' in f) return f.bytesList;
  if ('floatList' in f) return f.floatList;
  return BigInt64Array.from(f.int64List);
}

function defaultValues(key: string, spec: FixedLenFeature, size: number): DenseFeature['values'] {
  const d = spec.defaultValue;
  const list: unknown[] =
    typeof d === 'object' && d !== null && !(d instanceof Uint8Array) ? Array.from(d as ArrayLike<unknown>) : [d];
  if (list.length !== 1 && list.length !== size) {
    throw new UserError(`feature ${key}: default value has ${list.length} values but shape [${spec.shape}] needs ${size}`);
  }
  const at = (i: number) => list[list.length === 1 ? 0 : i];
  if (spec.dtype === 'int64') return BigInt64Array.from({ length: size }, (_, i) => toBigInt(at(i) as number | bigint));
  if (spec.dtype === 'float32') return Float32Array.from({ length: size }, (_, i) => Number(at(i)));
  return Array.from({ length: size }, (_, i) => {
    const v = at(i);
    return typeof v === 'string' ? new TextEncoder().encode(v) : (v as Uint8Array);
  });
}

/**
 * TensorFlow's parse_single_example: each FixedLenFeature must hold exactly prod(shape) values
 * (or be missing and have a default); each VarLenFeature becomes a sparse vector.
 */
export function parseSingleExample<S extends FeatureSpec>(bytes: Uint8Array, spec: S, source = 'example'): ParsedExample<S> {
  const features = decodeExample(bytes, source);
  const out: Record<string, DenseFeature | SparseFeature> = {};
  for (const [key, want] of Object.entries(spec)) {
    const got = features[key];
    if (got && kindOf(got) !== want.dtype && valuesOf(got).length > 0) {
      throw fileError(source, `feature ${key}: data types don't match (stored ${kindOf(got)}, expected ${want.dtype})`);
    }
    const values = got && kindOf(got) === want.dtype ? valuesOf(got) : emptyValues(want.dtype);
    if (want.kind === 'var') {
      out[key] = { dtype: want.dtype, indices: Array.from({ length: values.length }, (_, i) => [i]), values, denseShape: [values.length] };
      continue;
    }
    const size = want.shape.reduce((a, b) => a * b, 1);
    if (!got) {
      if (want.defaultValue === undefined) {
        throw fileError(source, `feature ${key} (data type: ${want.dtype}) is required but could not be found`);
      }
      out[key] = { dtype: want.dtype, shape: want.shape, values: defaultValues(key, want, size) };
      continue;
    }
    if (values.length !== size) {
      throw fileError(source, `feature ${key}: ${values.length} ${want.dtype} values, expected ${size} for shape [${want.shape}]`);
    }
    out[key] = { dtype: want.dtype, shape: want.shape, values };
  }
  return out as ParsedExample<S>;
}

function emptyValues(dtype: FeatureDtype): DenseFeature['values'] {
  if (dtype === 'int64') return new BigInt64Array(0);
  if (dtype === 'float32') return new Float32Array(0);
  return [];
}
