/**
 * GraphDef (a frozen `.pb`), MetaGraphDef (a `model.ckpt-N.meta`) and VariableDef bytes ↔ plain objects,
 * through protobufjs, with every decoded graph checked before use.
 */
import type protobuf from 'protobufjs';
import { fileError, quoted } from '../errors.js';
import { decodeProto, protoType } from './protos.js';
import { GraphDef, MetaGraphDef, VariableDef } from './graph-messages.js';
import { parseTensorName } from './graph-names.js';

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
