/**
 * TensorFlow SavedModels, read for inference (what `tf.saved_model.loader.load` + `Session.run` do):
 * `saved_model.pb` holds one MetaGraphDef per tag set (`serve`, `train`…), each with named
 * signatures (input and output keys → tensors); `variables/variables.{index,data-*}` is a V2
 * checkpoint of the variables. A signature becomes a frozen GraphDef — pruned to its outputs, every
 * variable (`VariableV2`, or a resource variable: `VarHandleOp` read by `ReadVariableOp`) a
 * constant holding its saved value — that TensorFlow.js's executor runs (src/graph/tfjs-model.ts).
 * TensorFlow 2 / Keras SavedModels call library functions from the signature's graph: those calls
 * are inlined (src/graph/inline-functions.ts) and the variables found by their object-graph
 * checkpoint keys (src/graph/object-graph.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { CheckpointReader } from '../checkpoint/reader.js';
import { fileError } from '../errors.js';
import { parseTensorName, pruneGraphDef, shapeFromProto, tensorProto, type GraphDef, type MetaGraphDef, type NodeDef, type TensorShapeProto } from '../formats/graphdef.js';
import { protoEnum, protoType } from '../formats/protos.js';
import { addDefaultAttrs, callsFunctions, inlineFunctions, prepareInlinedGraph } from './inline-functions.js';
import { OBJECT_GRAPH_KEY, variableCheckpointKeys, variableNodeKeys, type SavedObjectGraph } from './object-graph.js';

export const SAVED_MODEL_FILE = 'saved_model.pb';
export const SERVING_TAG = 'serve';
export const DEFAULT_SIGNATURE = 'serving_default';

export interface TensorInfo {
  name?: string;
  dtype?: string;
  tensor_shape?: TensorShapeProto;
}

export interface SignatureDef {
  inputs?: Record<string, TensorInfo>;
  outputs?: Record<string, TensorInfo>;
  method_name?: string;
}

export type SavedMetaGraph = MetaGraphDef & { signature_def?: Record<string, SignatureDef>; object_graph_def?: SavedObjectGraph };

export interface SavedModel {
  /** The directory holding `saved_model.pb` and `variables/`. */
  dir: string;
  file: string;
  schemaVersion: number;
  metaGraphs: SavedMetaGraph[];
}

/** True for a SavedModel directory or its `saved_model.pb`. */
export function isSavedModel(target: string): boolean {
  if (path.basename(target) === SAVED_MODEL_FILE) return existsSync(target);
  return existsSync(target) && statSync(target).isDirectory() && existsSync(path.join(target, SAVED_MODEL_FILE));
}

const DECODE: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: false, arrays: true };

export function readSavedModel(target: string): SavedModel {
  const dir = path.basename(target) === SAVED_MODEL_FILE ? path.dirname(target) : target;
  const file = path.join(dir, SAVED_MODEL_FILE);
  if (!existsSync(file)) {
    if (existsSync(path.join(dir, 'saved_model.pbtxt'))) throw fileError(dir, 'a text-format SavedModel (saved_model.pbtxt) is not supported; save it as binary saved_model.pb');
    throw fileError(dir, `not a SavedModel directory (no ${SAVED_MODEL_FILE})`);
  }
  const type = protoType('tensorflow.SavedModel');
  let message: { saved_model_schema_version?: number; meta_graphs?: SavedMetaGraph[] };
  try {
    message = type.toObject(type.decode(readFileSync(file)), DECODE) as typeof message;
  } catch (err) {
    throw fileError(file, `not a SavedModel (protobuf decoding failed: ${(err as Error).message.replace(/\s+/g, ' ')})`);
  }
  const metaGraphs = message.meta_graphs ?? [];
  if (!metaGraphs.length || metaGraphs.some((m) => !m.graph_def?.node?.length)) throw fileError(file, 'not a SavedModel (no MetaGraphDef with a graph)');
  for (const m of metaGraphs) m.graph_def = { ...m.graph_def, node: m.graph_def!.node.map((n) => ({ ...n, input: n.input ?? [], attr: n.attr ?? {} })) };
  return { dir, file, schemaVersion: message.saved_model_schema_version ?? 0, metaGraphs };
}

export const tagsOf = (m: SavedMetaGraph): string[] => m.meta_info_def?.tags ?? [];

/** The MetaGraphDef whose tag set is exactly `tags` (order ignored), as the loader picks it. */
export function selectMetaGraph(model: SavedModel, tags: string[]): SavedMetaGraph {
  const want = [...new Set(tags)].sort().join(',');
  const found = model.metaGraphs.find((m) => [...new Set(tagsOf(m))].sort().join(',') === want);
  if (found) return found;
  const have = model.metaGraphs.map((m) => `[${tagsOf(m).join(', ')}]`).join(', ');
  throw fileError(model.file, `no MetaGraphDef tagged [${tags.join(', ')}] (tag sets here: ${have}; choose with --tag)`);
}

export function selectSignature(model: SavedModel, meta: SavedMetaGraph, key: string): SignatureDef {
  const signatures = meta.signature_def ?? {};
  const signature = signatures[key];
  if (!signature) {
    const keys = Object.keys(signatures);
    throw fileError(model.file, `no signature "${key}" in the [${tagsOf(meta).join(', ')}] graph (${keys.length ? `signatures: ${keys.join(', ')}; choose with --signature` : 'it has no signatures'})`);
  }
  return signature;
}

export interface SignatureTensor {
  key: string;
  /** Tensor name, `x:0`. */
  tensor: string;
  dtype: string;
  /** -1 for unknown dimensions; undefined for an unknown rank. */
  shape?: number[];
}

function signatureTensors(model: SavedModel, map: Record<string, TensorInfo> | undefined, what: string): SignatureTensor[] {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, info]) => {
      if (!info.name) throw fileError(model.file, `signature ${what} "${key}" is not a dense tensor (sparse and composite tensors are not supported)`);
      return { key, tensor: info.name, dtype: info.dtype ?? 'DT_INVALID', shape: shapeFromProto(info.tensor_shape) };
    });
}

export function signatureInputs(model: SavedModel, s: SignatureDef): SignatureTensor[] {
  return signatureTensors(model, s.inputs, 'input');
}

export function signatureOutputs(model: SavedModel, s: SignatureDef): SignatureTensor[] {
  return signatureTensors(model, s.outputs, 'output');
}

export function variablesPrefix(model: SavedModel): string {
  return path.join(model.dir, 'variables', 'variables');
}

/** A reference type (numbered 100 + its value type, e.g. a VariableV2's own output) as its value type. */
function valueType(dtype: string | number): string {
  if (typeof dtype !== 'number') return dtype;
  return protoEnum('tensorflow.DataType').valuesById[dtype > 100 ? dtype - 100 : dtype] ?? 'DT_INVALID';
}

const VARIABLE_OPS = new Set(['VariableV2', 'Variable']);

/**
 * The frozen graph that computes `outputs` (tensor names): pruned, each variable read from the
 * checkpoint and made a constant. Resource variables: the `VarHandleOp` becomes the constant and
 * each `ReadVariableOp` of it an `Identity`.
 */
export function freezeSavedGraph(model: SavedModel, meta: SavedMetaGraph, outputs: string[], inputs: SignatureTensor[] = []): GraphDef {
  // A signature's inputs are where feeding starts (as Session.run feeds them): each becomes a
  // placeholder, and what computed it before (e.g. a ParseExample of serialized examples) is cut off.
  const cut = new Map<string, SignatureTensor>();
  for (const i of inputs) {
    const { node, index } = parseTensorName(i.tensor);
    if (!meta.graph_def!.node.some((n) => n.name === node)) throw fileError(model.file, `signature input "${i.key}" names tensor ${i.tensor}, which is not in the graph`);
    if (index !== 0) throw fileError(model.file, `signature input "${i.key}" is output ${index} of node "${node}"; only first outputs can be fed`);
    cut.set(node, i);
  }
  const fed = meta.graph_def!.node.map((n): NodeDef => {
    const input = cut.get(n.name);
    if (!input) return n;
    const shape = input.shape ? { shape: { dim: input.shape.map((size) => ({ size })) } } : { shape: { unknown_rank: true } };
    return { name: n.name, op: 'Placeholder', input: [], attr: { dtype: { type: valueType(input.dtype) }, shape } };
  });
  let pruned = pruneGraphDef({ ...meta.graph_def!, node: fed }, outputs, model.file);
  const calls = callsFunctions(pruned);
  const needsVariables = pruned.node.some((n) => VARIABLE_OPS.has(n.op) || n.op === 'VarHandleOp');
  let reader: CheckpointReader | undefined;
  if (needsVariables) {
    const prefix = variablesPrefix(model);
    if (!existsSync(`${prefix}.index`)) throw fileError(model.dir, 'the graph reads variables, but variables/variables.index is missing');
    reader = CheckpointReader.open(prefix);
  }
  // TF 2: variables are checkpointed by object path, found through the object graph; the
  // signature's function (and all it calls) is inlined into one plain graph.
  const objectKeys = reader && meta.object_graph_def ? variableNodeKeys(pruned, meta.object_graph_def, reader) : new Map<string, string>();
  if (calls) {
    const inlined = inlineFunctions(pruned, { file: model.file, opDefs: meta.meta_info_def?.stripped_op_list?.op });
    pruned = prepareInlinedGraph(inlined, outputs, model.file);
  }
  pruned = addDefaultAttrs(pruned, meta.meta_info_def?.stripped_op_list?.op);
  const constant = (n: NodeDef, key: string): NodeDef => {
    if (!reader!.has(key)) throw fileError(reader!.prefix, `variable "${n.name}" needs checkpoint tensor "${key}", which is not in the SavedModel's variables`);
    const value = reader!.tensor(key);
    return { name: n.name, op: 'Const', input: [], attr: { dtype: { type: n.attr?.dtype?.type ?? 'DT_FLOAT' }, value: { tensor: tensorProto(value) } } };
  };
  const node = pruned.node.map((n): NodeDef => {
    if (VARIABLE_OPS.has(n.op)) return constant(n, n.name);
    if (n.op === 'VarHandleOp') return constant(n, objectKeys.get(n.name) ?? n.name);
    if (n.op === 'ReadVariableOp') return { name: n.name, op: 'Identity', input: n.input, attr: { T: { type: n.attr?.dtype?.type ?? 'DT_FLOAT' } } };
    return n;
  });
  return { node, versions: pruned.versions };
}

export interface OpenedSignature {
  model: SavedModel;
  meta: SavedMetaGraph;
  inputs: SignatureTensor[];
  outputs: SignatureTensor[];
  graph: GraphDef;
}

/** A SavedModel signature ready to run: its frozen graph and its input and output tensors by key. */
export function openSavedModelSignature(target: string, options: { tags?: string[]; signature?: string } = {}): OpenedSignature {
  const model = readSavedModel(target);
  const meta = selectMetaGraph(model, options.tags ?? [SERVING_TAG]);
  const signature = selectSignature(model, meta, options.signature ?? DEFAULT_SIGNATURE);
  const inputs = signatureInputs(model, signature);
  const outputs = signatureOutputs(model, signature);
  if (!outputs.length) throw fileError(model.file, `signature "${options.signature ?? DEFAULT_SIGNATURE}" has no outputs`);
  const graph = freezeSavedGraph(model, meta, outputs.map((o) => o.tensor), inputs);
  return { model, meta, inputs, outputs, graph };
}

/** Lines for `mnist inspect DIR`: schema, tag sets, signatures with dtypes and shapes, variables. */
export function describeSavedModel(model: SavedModel): string[] {
  const lines = [`SavedModel: ${model.dir} (schema version ${model.schemaVersion})`];
  const shape = (s?: number[]) => (s ? `[${s.map((d) => (d < 0 ? '?' : String(d))).join(', ')}]` : 'unknown');
  const dtype = (d: string | number) => {
    // Reference types (a variable's own tensor) are numbered 100 + the value type.
    const name = typeof d === 'number' ? (d > 100 && protoEnum('tensorflow.DataType').valuesById[d - 100] ? `${protoEnum('tensorflow.DataType').valuesById[d - 100]}_REF` : `DataType(${d})`) : d;
    return name.replace(/^DT_/, '').toLowerCase();
  };
  for (const meta of model.metaGraphs) {
    const version = meta.meta_info_def?.tensorflow_version;
    const functions = meta.graph_def!.library?.function?.length ?? 0;
    lines.push(`tags [${tagsOf(meta).join(', ')}]: ${meta.graph_def!.node.length} nodes${functions ? ` calling ${functions} functions` : ''}${version ? `, TensorFlow ${version}` : ''}`);
    for (const [key, s] of Object.entries(meta.signature_def ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      lines.push(`  signature "${key}"${s.method_name ? ` (${s.method_name})` : ''}:`);
      for (const [what, list] of [['input', s.inputs], ['output', s.outputs]] as const) {
        for (const [k, info] of Object.entries(list ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
          // TF 2's `__saved_model_init_op` signature names an op to run, not a tensor.
          if (info.name && !info.name.includes(':') && (info.dtype ?? 'DT_INVALID') === 'DT_INVALID') lines.push(`    ${what} ${k}: ${info.name} (an op to run, not a tensor)`);
          else lines.push(`    ${what} ${k}: ${info.name ?? '(not a dense tensor)'} ${dtype(info.dtype ?? 'DT_INVALID')} ${shape(shapeFromProto(info.tensor_shape))}`);
        }
      }
    }
  }
  const prefix = variablesPrefix(model);
  if (existsSync(`${prefix}.index`)) {
    const reader = CheckpointReader.open(prefix);
    // TF 2: checkpoint keys are object paths; say which variable each one holds.
    const variableNames = new Map<string, string>();
    for (const meta of model.metaGraphs) {
      const objects = meta.object_graph_def;
      if (!objects) continue;
      for (const [id, key] of variableCheckpointKeys(objects, reader)) {
        const name = objects.nodes?.[id]?.variable?.name;
        if (name) variableNames.set(key, name);
      }
    }
    lines.push(`variables (${path.relative(model.dir, prefix)})${variableNames.size ? ' by checkpoint key, = the variable\'s name' : ''}:`);
    for (const info of reader.entries()) {
      if (info.name === OBJECT_GRAPH_KEY) continue;
      const name = variableNames.get(info.name);
      lines.push(`  ${info.name}  ${info.dtype ?? info.tfDType}  [${info.shape.join(', ')}]${name ? `  = ${name}` : ''}`);
    }
  } else {
    lines.push('variables: none');
  }
  return lines;
}
