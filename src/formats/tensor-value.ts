/**
 * A tensor as plain data — dtype, shape, values in a typed array — the one form every format
 * module reads and writes (checkpoints, TensorProto constants, tfjs weights), and the one table of
 * the element types it can hold. No tensor library, no Node module.
 */

/** Element types mnist-ts reads and writes, by TensorFlow.js-style name. */
export type TensorDType = 'float32' | 'float64' | 'int32' | 'uint8' | 'int16' | 'int8' | 'string' | 'int64' | 'bool';

/** The values of a numeric (or bool) tensor. */
export type NumericData = Float32Array | Float64Array | Int32Array | Uint8Array | Int16Array | Int8Array | BigInt64Array;

/** Values in row-major order: a typed array, or for strings one byte string per element. */
export type TensorData = NumericData | Uint8Array[];

/** A tensor as plain data. bool is a Uint8Array of 0/1; string is one Uint8Array of raw bytes per element. */
export interface TensorValue {
  dtype: TensorDType;
  shape: number[];
  data: TensorData;
}

/** The typed array of a numeric dtype. */
export interface NumericArrayConstructor {
  new (length: number): NumericData;
  new (buffer: ArrayBuffer): NumericData;
  readonly BYTES_PER_ELEMENT: number;
}

export interface DTypeInfo {
  /** TensorFlow's DataType enum (types.proto): its name and number. */
  readonly enumName: string;
  readonly enumValue: number;
  /** Bytes per element as stored (little-endian); 0 for string, whose elements vary in length. */
  readonly bytes: number;
  /** The typed array that holds the values; null for string (an array of byte strings). */
  readonly array: NumericArrayConstructor | null;
  /** The TensorProto list that holds the values when they are not in `tensor_content`. */
  readonly valueField: 'float_val' | 'double_val' | 'int_val' | 'string_val' | 'int64_val' | 'bool_val';
}

/** Every dtype mnist-ts handles, in TensorFlow's enum order. */
export const DTYPES: Readonly<Record<TensorDType, DTypeInfo>> = {
  float32: { enumName: 'DT_FLOAT', enumValue: 1, bytes: 4, array: Float32Array, valueField: 'float_val' },
  float64: { enumName: 'DT_DOUBLE', enumValue: 2, bytes: 8, array: Float64Array, valueField: 'double_val' },
  int32: { enumName: 'DT_INT32', enumValue: 3, bytes: 4, array: Int32Array, valueField: 'int_val' },
  uint8: { enumName: 'DT_UINT8', enumValue: 4, bytes: 1, array: Uint8Array, valueField: 'int_val' },
  int16: { enumName: 'DT_INT16', enumValue: 5, bytes: 2, array: Int16Array, valueField: 'int_val' },
  int8: { enumName: 'DT_INT8', enumValue: 6, bytes: 1, array: Int8Array, valueField: 'int_val' },
  string: { enumName: 'DT_STRING', enumValue: 7, bytes: 0, array: null, valueField: 'string_val' },
  int64: { enumName: 'DT_INT64', enumValue: 9, bytes: 8, array: BigInt64Array, valueField: 'int64_val' },
  bool: { enumName: 'DT_BOOL', enumValue: 10, bytes: 1, array: Uint8Array, valueField: 'bool_val' },
};

const ENTRIES = Object.entries(DTYPES) as Array<[TensorDType, DTypeInfo]>;
const BY_ENUM_NAME = new Map(ENTRIES.map(([dtype, info]) => [info.enumName, dtype]));
const BY_ENUM_VALUE = new Map(ENTRIES.map(([dtype, info]) => [info.enumValue, dtype]));

export function isTensorDType(name: string): name is TensorDType {
  return Object.hasOwn(DTYPES, name);
}

/** `float32` → `DT_FLOAT`. */
export function dtypeEnum(dtype: TensorDType): string {
  return DTYPES[dtype].enumName;
}

/** `DT_FLOAT` → `float32`; undefined for types this project does not handle (half, complex…). */
export function dtypeFromEnum(name: string | undefined): TensorDType | undefined {
  return name === undefined ? undefined : BY_ENUM_NAME.get(name);
}

/** DataType number 1 → `float32`; undefined for types this project does not handle. */
export function dtypeFromEnumValue(value: number): TensorDType | undefined {
  return BY_ENUM_VALUE.get(value);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `n` zeros (strings: empty byte strings) of `dtype`. */
export function zerosData(dtype: TensorDType, n: number): TensorData {
  const { array } = DTYPES[dtype];
  return array ? new array(n) : Array.from({ length: n }, () => new Uint8Array(0));
}

/** The values of a numeric dtype from their little-endian bytes (copied: aligned, and independent of `bytes`). */
export function numericDataFromBytes(dtype: Exclude<TensorDType, 'string'>, bytes: Uint8Array): NumericData {
  // Typed arrays are in host order; Node and browsers run little-endian everywhere we ship.
  return new DTYPES[dtype].array!(new Uint8Array(bytes).buffer);
}

/** Whether `data` is the array type `dtype` keeps its values in (its length is not checked). */
export function dataMatchesDType(dtype: TensorDType, data: TensorData): boolean {
  const { array } = DTYPES[dtype];
  return array ? data instanceof array : Array.isArray(data) && data.every((s) => s instanceof Uint8Array);
}
