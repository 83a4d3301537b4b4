/**
 * The bridge between TensorFlow.js tensors/variables and checkpoint tensors (plain data). The only
 * module of the checkpoint layer that imports the tensor library.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import type { TensorValue } from '../formats/tensor-value.js';
import type { CheckpointReader } from './reader.js';

/** A value to save: a tfjs tensor, or a ready TensorValue (e.g. an int64 global_step, which tfjs cannot hold). */
export type SaveValue = tf.Tensor | TensorValue;

/** An int64 scalar such as `global_step` (TensorFlow stores the step as int64; tfjs has no int64). */
export function int64Scalar(value: number | bigint): TensorValue {
  return { dtype: 'int64', shape: [], data: BigInt64Array.from([BigInt(value)]) };
}

function isTfTensor(v: SaveValue): v is tf.Tensor {
  return v instanceof tf.Tensor;
}

/** Downloads tensors into checkpoint form. Plain TensorValue values pass through unchanged. */
export async function tensorsToCheckpoint(named: Record<string, SaveValue> | Map<string, SaveValue>): Promise<Map<string, TensorValue>> {
  const out = new Map<string, TensorValue>();
  const items = named instanceof Map ? [...named] : Object.entries(named);
  for (const [name, value] of items) {
    out.set(name, isTfTensor(value) ? await toTensorValue(name, value) : value);
  }
  return out;
}

async function toTensorValue(name: string, t: tf.Tensor): Promise<TensorValue> {
  const shape = [...t.shape];
  switch (t.dtype) {
    case 'float32':
      return { dtype: 'float32', shape, data: Float32Array.from((await t.data()) as Float32Array) };
    case 'int32':
      return { dtype: 'int32', shape, data: Int32Array.from((await t.data()) as Int32Array) };
    case 'bool':
      return { dtype: 'bool', shape, data: Uint8Array.from((await t.data()) as Uint8Array, (b) => (b ? 1 : 0)) };
    case 'string':
      return { dtype: 'string', shape, data: ((await t.bytes()) as Uint8Array[]).map((b) => Uint8Array.from(b)) };
    default:
      throw new Error(`cannot save tensor "${name}": dtype ${t.dtype} has no checkpoint form here`);
  }
}

/** The tfjs dtype a checkpoint dtype restores into (int64 → int32, range-checked; no float64 in tfjs). */
const TFJS_DTYPE: Record<TensorValue['dtype'], tf.DataType[]> = {
  float32: ['float32'],
  float64: [],
  int32: ['int32'],
  uint8: ['int32'],
  int16: ['int32'],
  int8: ['int32'],
  string: ['string'],
  int64: ['int32'],
  bool: ['bool'],
};

function toTfTensor(c: TensorValue, dtype: tf.DataType, describe: string): tf.Tensor {
  if (c.dtype === 'int64') {
    const values = c.data as BigInt64Array;
    const out = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      if (values[i] < -2147483648n || values[i] > 2147483647n) throw new UserError(`${describe}: int64 value ${values[i]} does not fit the int32 variable`);
      out[i] = Number(values[i]);
    }
    return tf.tensor(out, c.shape, dtype);
  }
  if (c.dtype === 'uint8' || c.dtype === 'int16' || c.dtype === 'int8') return tf.tensor(Int32Array.from(c.data as Uint8Array | Int16Array | Int8Array), c.shape, dtype);
  return tf.tensor(c.data as Float32Array | Int32Array | Uint8Array | Uint8Array[], c.shape, dtype);
}

export interface RestoreOptions {
  /** Skip variables whose name is not in the checkpoint instead of failing. */
  allowMissing?: boolean;
}

/**
 * Assigns checkpoint tensors to variables: `mapping` is `{nameInCheckpoint: variable}`. This
 * covers restoring everything, a subset, renamed variables (`{"v1": other}`) and EMA shadows
 * (`{"layer1/weights/ExponentialMovingAverage": weights}`). Every name, dtype and shape is checked
 * before any variable changes, so a failed restore leaves all variables as they were.
 * Returns the names restored.
 */
export function restoreVariables(reader: CheckpointReader, mapping: Record<string, tf.Variable> | Map<string, tf.Variable>, options: RestoreOptions = {}): string[] {
  const items = mapping instanceof Map ? [...mapping] : Object.entries(mapping);
  const missing = items.filter(([name]) => !reader.has(name)).map(([name]) => name);
  if (missing.length > 0 && !options.allowMissing) {
    throw new UserError(`${reader.prefix}: not found in checkpoint: ${missing.join(', ')}`);
  }
  const present = items.filter(([name]) => reader.has(name));
  for (const [name, variable] of present) {
    const info = reader.info(name);
    if (!TFJS_DTYPE[info.dtype].includes(variable.dtype)) {
      throw new UserError(`${reader.prefix}: tensor "${name}" is ${info.dtype} in the checkpoint but the model's variable is ${variable.dtype}`);
    }
    const same = info.shape.length === variable.shape.length && info.shape.every((d, i) => d === variable.shape[i]);
    if (!same) {
      throw new UserError(`${reader.prefix}: tensor "${name}" has shape [${info.shape.join(', ')}] in the checkpoint but the model's variable has shape [${variable.shape.join(', ')}]`);
    }
  }
  const values: tf.Tensor[] = [];
  try {
    for (const [name, variable] of present) values.push(toTfTensor(reader.tensor(name), variable.dtype, `${reader.prefix}: tensor "${name}"`));
  } catch (err) {
    for (const v of values) v.dispose();
    throw err;
  }
  present.forEach(([, variable], i) => {
    variable.assign(values[i]);
    values[i].dispose();
  });
  return present.map(([name]) => name);
}
