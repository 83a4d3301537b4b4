/**
 * TensorFlow 2 SavedModels name their variables through the object graph, not by node name: the
 * MetaGraphDef's `object_graph_def` (SavedObjectGraph) lists the saved objects — a Keras model, its
 * layers, their variables — and the checkpoint in `variables/` stores each variable under the path of
 * object names leading to it (`layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE`), recorded in
 * its own copy of the object graph (`_CHECKPOINTABLE_OBJECT_GRAPH`, a TrackableObjectGraph; node ids
 * are shared). A call of a signature's function receives the variables it captured as extra inputs,
 * in the order of its SavedConcreteFunction's `bound_inputs` (object ids): that ties each top-level
 * `VarHandleOp` to its object, and so to its checkpoint key.
 */
import type { CheckpointReader } from '../checkpoint/reader.js';
import { fileError } from '../errors.js';
import { parseTensorName, type GraphDef, type TensorShapeProto } from '../formats/graphdef.js';
import { protoType } from '../formats/protos.js';
import { FUNCTION_CALL_OPS } from './inline-functions.js';

export const OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH';
const VALUE_SUFFIX = '.ATTRIBUTES/VARIABLE_VALUE';

export interface SavedObject {
  children?: Array<{ node_id?: number; local_name?: string }>;
  variable?: { dtype?: string; shape?: TensorShapeProto; trainable?: boolean; name?: string };
  user_object?: { identifier?: string };
  function?: { concrete_functions?: string[] };
}

export interface SavedObjectGraph {
  nodes?: SavedObject[];
  concrete_functions?: Record<string, { bound_inputs?: number[] }>;
}

interface TrackableObjectGraph {
  nodes?: Array<{ attributes?: Array<{ name?: string; full_name?: string; checkpoint_key?: string }> }>;
}

/** The checkpoint's own object graph, if it has one. */
function readTrackableGraph(reader: CheckpointReader): TrackableObjectGraph | undefined {
  if (!reader.has(OBJECT_GRAPH_KEY)) return undefined;
  const value = reader.tensor(OBJECT_GRAPH_KEY).data;
  const bytes = Array.isArray(value) ? value[0] : undefined;
  if (!bytes) throw fileError(reader.prefix, `${OBJECT_GRAPH_KEY} is not a serialized object graph`);
  const type = protoType('tensorflow.TrackableObjectGraph');
  try {
    return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as TrackableObjectGraph;
  } catch (err) {
    throw fileError(reader.prefix, `${OBJECT_GRAPH_KEY} is not a serialized object graph (${(err as Error).message.replace(/\s+/g, ' ')})`);
  }
}

/** Object id → the checkpoint key of its value, for every variable of the object graph. */
export function variableCheckpointKeys(objects: SavedObjectGraph, reader: CheckpointReader): Map<number, string> {
  const trackable = readTrackableGraph(reader);
  const nodes = objects.nodes ?? [];
  // Without the checkpoint's copy, keys are the object-name paths from the root, as TensorFlow forms them.
  const paths = new Map<number, string>([[0, '']]);
  const queue = [0];
  while (queue.length) {
    const id = queue.shift()!;
    for (const c of nodes[id]?.children ?? []) {
      const child = c.node_id ?? 0;
      if (paths.has(child)) continue;
      paths.set(child, `${paths.get(id)}${c.local_name ?? ''}/`);
      queue.push(child);
    }
  }
  const keys = new Map<number, string>();
  nodes.forEach((n, id) => {
    if (!n.variable) return;
    const recorded = trackable?.nodes?.[id]?.attributes?.find((a) => a.name === 'VARIABLE_VALUE')?.checkpoint_key;
    const key = recorded ?? (paths.has(id) ? `${paths.get(id)}${VALUE_SUFFIX}` : undefined);
    if (key !== undefined) keys.set(id, key);
  });
  return keys;
}

/**
 * Top-level VarHandleOp node name → checkpoint key, read off the calls of saved functions: the last
 * inputs of a call are its function's captures, in `bound_inputs` order.
 */
export function variableNodeKeys(graph: GraphDef, objects: SavedObjectGraph, reader: CheckpointReader): Map<string, string> {
  const byId = variableCheckpointKeys(objects, reader);
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  const result = new Map<string, string>();
  for (const n of graph.node) {
    if (!FUNCTION_CALL_OPS.has(n.op)) continue;
    const bound = objects.concrete_functions?.[n.attr?.f?.func?.name ?? '']?.bound_inputs ?? [];
    const inputs = (n.input ?? []).filter((i) => !i.startsWith('^'));
    const captured = inputs.slice(inputs.length - bound.length);
    bound.forEach((id, i) => {
      const source = byName.get(parseTensorName(captured[i] ?? '').node);
      const key = byId.get(id);
      if (source?.op === 'VarHandleOp' && key !== undefined) result.set(source.name, key);
    });
  }
  return result;
}
