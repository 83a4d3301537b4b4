/**
 * TensorFlow's graph messages as plain objects: GraphDef (a frozen `.pb`), MetaGraphDef (a
 * `model.ckpt-N.meta`), VariableDef (collection entries) and TensorProto values. Decoding and
 * encoding go through protobufjs with the `.proto` files in `proto/`; field names are
 * TensorFlow's (snake_case), enums are their names (`DT_FLOAT`, `V2`), int64s are numbers.
 * No tensor library here: tensor values come out as typed arrays.
 */
import type protobuf from 'protobufjs';
import { fileError, quoted } from '../errors.js';
import { decodeProto, protoType } from './protos.js';

export interface TensorShapeProto {
  dim?: Array<{ size: number; name?: string }>;
  unknown_rank?: boolean;
}

export interface TensorProto {
  dtype: string;
  tensor_shape?: TensorShapeProto;
  tensor_content?: Uint8Array;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  int64_val?: number[];
  bool_val?: boolean[];
  string_val?: Uint8Array[];
  half_val?: number[];
}

export interface NameAttrList {
  name: string;
  attr?: Record<string, AttrValue>;
}

export interface AttrValue {
  s?: Uint8Array;
  i?: number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: TensorShapeProto;
  tensor?: TensorProto;
  list?: {
    s?: Uint8Array[];
    i?: number[];
    f?: number[];
    b?: boolean[];
    type?: string[];
    shape?: TensorShapeProto[];
    tensor?: TensorProto[];
    func?: NameAttrList[];
  };
  func?: NameAttrList;
  placeholder?: string;
}

export interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  device?: string;
  attr?: Record<string, AttrValue>;
}

export interface VersionDef {
  producer?: number;
  min_consumer?: number;
  bad_consumers?: number[];
}

export interface GraphDef {
  node: NodeDef[];
  versions?: VersionDef;
}

export interface OpDef {
  name: string;
  input_arg?: Array<{ name: string; type?: string; type_attr?: string; number_attr?: string; type_list_attr?: string; is_ref?: boolean }>;
  output_arg?: Array<{ name: string; type?: string; type_attr?: string; number_attr?: string; type_list_attr?: string; is_ref?: boolean }>;
  attr?: Array<{ name: string; type: string; default_value?: AttrValue; has_minimum?: boolean; minimum?: number; allowed_values?: AttrValue }>;
  is_commutative?: boolean;
  is_aggregate?: boolean;
  is_stateful?: boolean;
  allows_uninitialized_input?: boolean;
}

export interface SaverDef {
  filename_tensor_name: string;
  save_tensor_name: string;
  restore_op_name: string;
  max_to_keep: number;
  sharded?: boolean;
  keep_checkpoint_every_n_hours: number;
  version: 'LEGACY' | 'V1' | 'V2';
}

export interface CollectionDef {
  node_list?: { value: string[] };
  bytes_list?: { value: Uint8Array[] };
  int64_list?: { value: number[] };
  float_list?: { value: number[] };
}

export interface MetaGraphDef {
  meta_info_def?: {
    meta_graph_version?: string;
    stripped_op_list?: { op: OpDef[] };
    tags?: string[];
    tensorflow_version?: string;
    tensorflow_git_version?: string;
    stripped_default_attrs?: boolean;
  };
  graph_def?: GraphDef;
  saver_def?: SaverDef;
  collection_def?: Record<string, CollectionDef>;
}

export interface VariableDef {
  variable_name: string;
  initial_value_name?: string;
  initializer_name?: string;
  snapshot_name?: string;
  is_resource?: boolean;
  trainable?: boolean;
}

const DECODE_OPTIONS: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: false, arrays: true };

function decodeMessage<T>(typeName: string, bytes: Uint8Array, file: string, what: string): T {
  const type = protoType(typeName);
  const decoded = decodeProto(type, bytes);
  if ('problem' in decoded) {
    const hint = decoded.problem.endsWith('has no value') ? 'damaged file?' : 'truncated or another kind of file?';
    throw fileError(file, `not a ${what} (${decoded.problem}; ${hint})`);
  }
  return type.toObject(decoded.message, DECODE_OPTIONS) as T;
}

function encodeMessage(typeName: string, value: object): Uint8Array {
  const type = protoType(typeName);
  return type.encode(type.fromObject(value)).finish();
}

/**
 * Checks what protobuf cannot: that the message really looks like a graph (named nodes with ops,
 * names unique) and that every input names a node of the graph, as TensorFlow's importer does.
 */
function checkGraph(graph: GraphDef, file: string, what: string): void {
  if (!graph.node.length) throw fileError(file, `not a ${what} (no nodes; empty or another kind of file?)`);
  const seen = new Set<string>();
  for (const [i, node] of graph.node.entries()) {
    if (!node.name || !node.op) throw fileError(file, `not a ${what} (node ${i} has no ${node.name ? 'op' : 'name'}; another kind of file?)`);
    if (seen.has(node.name)) throw fileError(file, `bad ${what}: two nodes named ${quoted(node.name)}`);
    seen.add(node.name);
  }
  for (const node of graph.node) {
    for (const input of node.input ?? []) {
      const { node: from, index } = parseTensorName(input);
      if (!seen.has(from)) throw fileError(file, `bad ${what}: node ${quoted(node.name)} (${quoted(node.op)}) reads ${quoted(input)}, which is not a node of the graph`);
      if (!Number.isSafeInteger(index)) throw fileError(file, `bad ${what}: node ${quoted(node.name)} reads ${quoted(input)}, an impossible output number`);
    }
  }
}

function normalizeGraph(graph: Partial<GraphDef> | undefined): GraphDef {
  return { ...graph, node: (graph?.node ?? []).map((n) => ({ ...n, input: n.input ?? [], attr: n.attr ?? {} })) };
}

/** Parses a serialized GraphDef (a frozen `.pb` file). Bad bytes → a one-line UserError naming `file`. */
export function decodeGraphDef(bytes: Uint8Array, file: string): GraphDef {
  const graph = normalizeGraph(decodeMessage<Partial<GraphDef>>('tensorflow.GraphDef', bytes, file, 'TensorFlow GraphDef'));
  checkGraph(graph, file, 'TensorFlow GraphDef');
  return graph;
}

export function encodeGraphDef(graph: GraphDef): Uint8Array {
  return encodeMessage('tensorflow.GraphDef', graph);
}

/** protobuf-JSON (camelCase field names, as in a TensorFlow.js model.json) → TensorFlow's snake_case. */
function snakeCaseKeys(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => snakeCaseKeys(v));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  // `attr` is a map from attribute names, which keep their spelling.
  const isMap = key === 'attr';
  for (const [k, v] of Object.entries(value)) {
    const name = isMap ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    out[name] = snakeCaseKeys(v, name);
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The node list of a protobuf-JSON GraphDef has the right shape (protobufjs would turn `{}` into "[object Object]"). */
function checkJsonNodes(json: unknown, file: string): void {
  const bad = (where: string, problem: string): never => {
    throw fileError(file, `modelTopology is not a GraphDef (${where} ${problem})`);
  };
  if (!isObject(json)) bad('modelTopology', 'is not an object');
  const nodes = (json as Record<string, unknown>).node;
  if (!Array.isArray(nodes)) return bad('modelTopology.node', 'is not a list');
  nodes.forEach((n: unknown, i) => {
    if (!isObject(n)) return bad(`node ${i}`, 'is not an object');
    if (typeof n.name !== 'string' || typeof n.op !== 'string') bad(`node ${i}`, 'has no name or op');
    const where = `node ${quoted(n.name as string)}`;
    if (n.input !== undefined && !(Array.isArray(n.input) && n.input.every((x) => typeof x === 'string'))) bad(where, 'has inputs that are not a list of names');
    if (n.attr !== undefined && !(isObject(n.attr) && Object.values(n.attr).every(isObject))) bad(where, 'has attributes that are not objects');
  });
}

/** A GraphDef in protobuf-JSON form (a TensorFlow.js `modelTopology`): base64 bytes, enum names, int64 strings. */
export function graphDefFromJson(json: unknown, file: string): GraphDef {
  checkJsonNodes(json, file);
  const type = protoType('tensorflow.GraphDef');
  let graph: GraphDef;
  try {
    graph = normalizeGraph(type.toObject(type.fromObject(snakeCaseKeys(json) as object), DECODE_OPTIONS) as Partial<GraphDef>);
  } catch (err) {
    throw fileError(file, `modelTopology is not a GraphDef (${(err as Error).message})`);
  }
  checkGraph(graph, file, 'TensorFlow GraphDef');
  return graph;
}

/** Parses a serialized MetaGraphDef (`model.ckpt-N.meta`). */
export function decodeMetaGraphDef(bytes: Uint8Array, file: string): MetaGraphDef {
  const meta = decodeMessage<MetaGraphDef>('tensorflow.MetaGraphDef', bytes, file, 'TensorFlow MetaGraphDef');
  meta.graph_def = normalizeGraph(meta.graph_def);
  checkGraph(meta.graph_def, file, 'TensorFlow MetaGraphDef');
  return meta;
}

export function encodeMetaGraphDef(meta: MetaGraphDef): Uint8Array {
  return encodeMessage('tensorflow.MetaGraphDef', meta);
}

export function decodeVariableDef(bytes: Uint8Array, file = 'VariableDef'): VariableDef {
  return decodeMessage<VariableDef>('tensorflow.VariableDef', bytes, file, 'VariableDef');
}

export function encodeVariableDef(def: VariableDef): Uint8Array {
  return encodeMessage('tensorflow.VariableDef', def);
}

// ---- tensor values ----

export type TensorDType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'int16' | 'bool' | 'string';
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint8Array[];

/** A tensor as plain data (bool as 0/1 bytes, strings as byte strings). */
export interface TensorValue {
  dtype: TensorDType;
  shape: number[];
  data: TensorData;
}

const DTYPE_ENUM: Record<TensorDType, string> = {
  float32: 'DT_FLOAT',
  float64: 'DT_DOUBLE',
  int32: 'DT_INT32',
  int64: 'DT_INT64',
  uint8: 'DT_UINT8',
  int8: 'DT_INT8',
  int16: 'DT_INT16',
  bool: 'DT_BOOL',
  string: 'DT_STRING',
};

const ENUM_DTYPE = new Map(Object.entries(DTYPE_ENUM).map(([k, v]) => [v, k as TensorDType]));

export function dtypeEnum(dtype: TensorDType): string {
  return DTYPE_ENUM[dtype];
}

/** `DT_FLOAT` → `float32`; undefined for types this project does not handle (half, complex…). */
export function dtypeFromEnum(name: string | undefined): TensorDType | undefined {
  return name === undefined ? undefined : ENUM_DTYPE.get(name);
}

export function shapeProto(shape: ReadonlyArray<number | null>): TensorShapeProto {
  return { dim: shape.map((d) => ({ size: d ?? -1 })) };
}

/** Dimensions of a shape (-1 for unknown), or undefined for an unknown rank. */
export function shapeFromProto(shape: TensorShapeProto | undefined): number[] | undefined {
  if (!shape || shape.unknown_rank) return undefined;
  // proto3 leaves a zero size out.
  return (shape.dim ?? []).map((d) => Number(d.size ?? 0));
}

const BYTES_PER_ELEMENT: Partial<Record<TensorDType, number>> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, int8: 1, int16: 2, bool: 1 };

/**
 * A constant written as a few values repeated to fill its shape may not grow beyond this many
 * bytes: far more than any MNIST model needs, and small enough to allocate; beyond it the shape
 * is surely damaged.
 */
export const MAX_FILLED_CONSTANT_BYTES = 256 * 2 ** 20;

function numericArray(dtype: TensorDType, n: number): Exclude<TensorData, Uint8Array[]> {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'int16':
      return new Int16Array(n);
    default:
      return new Uint8Array(n); // uint8, bool
  }
}

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
  const bytesPerElement = BYTES_PER_ELEMENT[dtype]!;
  const content = proto.tensor_content;
  if (content && content.length) {
    const expected = n * bytesPerElement;
    if (content.length !== expected) throw fileError(where, `tensor_content has ${content.length} bytes, expected ${expected} for ${dtype}${shapeText(shape)}`);
    const out = numericArray(dtype, n);
    const copy = Uint8Array.from(content);
    const view = new (out.constructor as new (b: ArrayBuffer) => typeof out)(copy.buffer);
    out.set(view as never);
    return { dtype, shape, data: out };
  }
  const list: ArrayLike<number | boolean> =
    dtype === 'float32' ? (proto.float_val ?? [])
    : dtype === 'float64' ? (proto.double_val ?? [])
    : dtype === 'int64' ? (proto.int64_val ?? [])
    : dtype === 'bool' ? (proto.bool_val ?? [])
    : (proto.int_val ?? []);
  if (list.length > n) throw fileError(where, `tensor has ${list.length} values for shape ${shapeText(shape)}`);
  if (n * bytesPerElement > MAX_FILLED_CONSTANT_BYTES) tooBig(n * bytesPerElement);
  const out = numericArray(dtype, n);
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
    if (value.dtype === 'float32') proto.float_val = [Number(v)];
    else if (value.dtype === 'float64') proto.double_val = [Number(v)];
    else if (value.dtype === 'int64') proto.int64_val = [Number(v)];
    else if (value.dtype === 'bool') proto.bool_val = [Boolean(v)];
    else proto.int_val = [Number(v)];
  } else {
    proto.tensor_content = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  return proto;
}

// ---- attribute values, as TensorFlow writes them ----

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export const attr = {
  type: (dtype: TensorDType): AttrValue => ({ type: dtypeEnum(dtype) }),
  s: (value: string): AttrValue => ({ s: utf8.encode(value) }),
  i: (value: number): AttrValue => ({ i: value }),
  f: (value: number): AttrValue => ({ f: value }),
  b: (value: boolean): AttrValue => ({ b: value }),
  shape: (shape: ReadonlyArray<number | null>): AttrValue => ({ shape: shapeProto(shape) }),
  unknownShape: (): AttrValue => ({ shape: { unknown_rank: true } }),
  ints: (values: number[]): AttrValue => ({ list: { i: values } }),
  strings: (values: string[]): AttrValue => ({ list: { s: values.map((v) => utf8.encode(v)) } }),
  types: (values: TensorDType[]): AttrValue => ({ list: { type: values.map(dtypeEnum) } }),
  tensor: (value: TensorValue): AttrValue => ({ tensor: tensorProto(value) }),
};

export function attrString(value: AttrValue | undefined): string | undefined {
  return value?.s === undefined ? undefined : utf8Decoder.decode(value.s);
}

export function textBytes(value: string): Uint8Array {
  return utf8.encode(value);
}

export function bytesText(value: Uint8Array): string {
  return utf8Decoder.decode(value);
}

/** `name:0` → {node: name, index: 0}; `^name` (control input) → {node: name, control: true}. */
export function parseTensorName(input: string): { node: string; index: number; control: boolean } {
  if (input.startsWith('^')) return { node: input.slice(1), index: -1, control: true };
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? { node: m[1], index: Number(m[2]), control: false } : { node: input, index: 0, control: false };
}

/** The nodes `outputs` (node or tensor names) depend on, control inputs included, in graph order. */
export function pruneGraphDef(graph: GraphDef, outputs: string[], file: string): GraphDef {
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  const needed = new Set<string>();
  const stack = outputs.map((o) => parseTensorName(o).node);
  while (stack.length) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    const node = byName.get(name);
    if (!node) throw fileError(file, `graph has no node named "${name}"`);
    needed.add(name);
    for (const input of node.input ?? []) stack.push(parseTensorName(input).node);
  }
  return { ...graph, node: graph.node.filter((n) => needed.has(n.name)) };
}
