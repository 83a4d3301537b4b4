/**
 * Runs a TensorFlow GraphDef with TensorFlow.js's own graph executor (tfjs-converter's
 * GraphModel) instead of an interpreter of ours. A GraphModel's `model.json` holds the GraphDef
 * in protobuf-JSON form as `modelTopology`, with every `Const` node's value moved into the
 * weights; `graphDefToArtifacts` builds exactly that in memory (and `mnist export --format tfjs`
 * writes it to disk).
 */
import * as tf from '@tensorflow/tfjs';
import { fileError, quoted, UserError } from '../errors.js';
import { concatBytes } from '../formats/bytes.js';
import { parseTensorName, tensorFromProto, type GraphDef, type NodeDef, type TensorValue } from '../formats/graphdef.js';
import { GRAPH_PRODUCER } from './graphdef.js';
import { validateGraph } from './validate.js';

/** protobuf-JSON as tfjs reads it: camelCase field names (map keys unchanged), bytes in base64. */
function toProtoJson(value: unknown, key = ''): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v) => toProtoJson(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // `attr` is a map: its keys are attribute names (`transpose_a`), not field names.
    const isMap = key === 'attr';
    for (const [k, v] of Object.entries(value)) out[isMap ? k : k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = toProtoJson(v, k);
    return out;
  }
  return value;
}

interface WeightBytes {
  dtype: 'float32' | 'int32' | 'bool' | 'string';
  bytes: Uint8Array;
}

/** A constant's bytes in the form tfjs weights use (int64 → int32 and float64 → float32, as tfjs's converter does). */
function weightBytes(t: TensorValue, where: string): WeightBytes {
  const d = t.data;
  if (Array.isArray(d)) {
    const parts: Uint8Array[] = [];
    for (const s of d) parts.push(new Uint8Array(Uint32Array.of(s.length).buffer), s);
    return { dtype: 'string', bytes: concatBytes(parts) };
  }
  switch (t.dtype) {
    case 'float32':
      return { dtype: 'float32', bytes: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
    case 'float64':
      return { dtype: 'float32', bytes: new Uint8Array(Float32Array.from(d as Float64Array).buffer) };
    case 'bool':
      return { dtype: 'bool', bytes: d as Uint8Array };
    case 'int64': {
      const out = new Int32Array(d.length);
      (d as BigInt64Array).forEach((v, i) => {
        if (v < -2147483648n || v > 2147483647n) throw fileError(where, `int64 value ${v} does not fit TensorFlow.js's int32`);
        out[i] = Number(v);
      });
      return { dtype: 'int32', bytes: new Uint8Array(out.buffer) };
    }
    default:
      return { dtype: 'int32', bytes: new Uint8Array(Int32Array.from(d as ArrayLike<number>).buffer) };
  }
}


export interface GraphModelArtifacts {
  modelTopology: Record<string, unknown>;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
}

/**
 * The GraphDef as TensorFlow.js GraphModel artifacts: the topology (Const values stripped) and
 * one weight per Const node, named after the node.
 */
export function graphDefToArtifacts(graph: GraphDef, file: string): GraphModelArtifacts {
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  const nodes = graph.node.map((n): NodeDef => {
    if (n.op !== 'Const') return n;
    const proto = n.attr?.value?.tensor;
    if (!proto) throw fileError(file, `Const node ${quoted(n.name)} has no value`);
    const value = tensorFromProto(proto, `${file}: node ${quoted(n.name)}`);
    const { dtype, bytes } = weightBytes(value, `${file}: node ${quoted(n.name)}`);
    weightSpecs.push({ name: n.name, shape: value.shape, dtype });
    chunks.push(bytes);
    return { ...n, attr: { ...n.attr, value: { tensor: { dtype: proto.dtype, tensor_shape: proto.tensor_shape } } } };
  });
  const versions = { producer: graph.versions?.producer ?? GRAPH_PRODUCER, min_consumer: graph.versions?.min_consumer ?? 0 };
  const modelTopology = toProtoJson({ node: nodes, versions, library: {} }) as Record<string, unknown>;
  const weightData = concatBytes(chunks);
  return { modelTopology, weightSpecs, weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer };
}

/** A placeholder the graph wants fed. */
export interface GraphInput {
  name: string;
  dtype: string;
  /** -1 for unknown dimensions; undefined when the rank is unknown. */
  shape?: number[];
}

/** A GraphDef loaded into TensorFlow.js, runnable by node or tensor name. */
export class FrozenGraph {
  private constructor(
    readonly file: string,
    readonly graph: GraphDef,
    private readonly model: tf.GraphModel<tf.io.IOHandlerSync>,
  ) {}

  /** Loads the graph; Const values become weights. Call `dispose()` when done. */
  static load(graph: GraphDef, file: string): FrozenGraph {
    validateGraph(graph, file);
    const artifacts = graphDefToArtifacts(graph, file);
    let model: tf.GraphModel<tf.io.IOHandlerSync>;
    try {
      model = tf.loadGraphModelSync({ ...artifacts, format: 'graph-model', generatedBy: 'mnist-ts', convertedBy: 'mnist-ts' });
    } catch (err) {
      throw fileError(file, `TensorFlow.js cannot load this graph${libraryReason(err)}`);
    }
    return new FrozenGraph(file, graph, model);
  }

  get inputs(): GraphInput[] {
    return this.graph.node
      .filter((n) => n.op === 'Placeholder')
      .map((n) => ({
        name: n.name,
        dtype: n.attr?.dtype?.type ?? 'DT_FLOAT',
        shape: n.attr?.shape?.shape && !n.attr.shape.shape.unknown_rank ? (n.attr.shape.shape.dim ?? []).map((d) => Number(d.size ?? 0)) : undefined,
      }));
  }

  /** Nodes no other node consumes: what a frozen graph is for, when no output is named. */
  get defaultOutputs(): string[] {
    const consumed = new Set(this.graph.node.flatMap((n) => (n.input ?? []).map((i) => parseTensorName(i).node)));
    return this.graph.node.filter((n) => !consumed.has(n.name) && n.op !== 'NoOp' && n.op !== 'Placeholder').map((n) => `${n.name}:0`);
  }

  /** Runs the graph: feeds by placeholder name (`x-input` or `x-input:0`), outputs as `node:0`. */
  async run(feeds: Record<string, tf.Tensor>, outputs: string[]): Promise<tf.Tensor[]> {
    const byName = new Map(this.graph.node.map((n) => [n.name, n]));
    for (const name of Object.keys(feeds)) {
      if (!byName.has(parseTensorName(name).node)) throw fileError(this.file, `no node named "${parseTensorName(name).node}" to feed`);
    }
    const fetches = outputs.map((o) => {
      const { node, index } = parseTensorName(o);
      if (!byName.has(node)) throw fileError(this.file, `no node named "${node}" to fetch`);
      return `${node}:${index}`;
    });
    this.checkOps(fetches, new Set(Object.keys(feeds).map((f) => parseTensorName(f).node)));
    const inputs: tf.NamedTensorMap = {};
    for (const [name, t] of Object.entries(feeds)) inputs[`${parseTensorName(name).node}:0`] = t;
    try {
      let result: tf.Tensor | tf.Tensor[];
      try {
        result = this.model.execute(inputs, fetches);
      } catch (err) {
        // Control flow and dynamic shapes need the asynchronous executor (which warns when not needed).
        if (!/executeAsync/.test(oneLine(err))) throw err;
        result = await this.model.executeAsync(inputs, fetches);
      }
      return Array.isArray(result) ? result : [result];
    } catch (err) {
      if (err instanceof UserError) throw err;
      const unknown = /Unknown op '([^']+)'/.exec(oneLine(err));
      if (unknown) throw this.unsupported(unknown[1]);
      throw fileError(this.file, `running the graph failed${libraryReason(err)}`);
    }
  }

  /**
   * Fails now, before any input is read, if computing `outputs` from the `fed` nodes needs an op
   * TensorFlow.js lacks or a placeholder left unfed (what `run` would find).
   */
  checkRunnable(outputs: string[], fed: string[]): void {
    this.checkOps(outputs.map((o) => `${parseTensorName(o).node}:${parseTensorName(o).index}`), new Set(fed.map((f) => parseTensorName(f).node)));
  }

  /**
   * Every placeholder on the path to the outputs must be fed and every op be one the tfjs executor
   * knows (it says so only mid-run otherwise, in words about its own internals).
   */
  private checkOps(fetches: string[], fed: Set<string>): void {
    // The executor's own node table (not public API; skipped if a later tfjs changes it).
    const executorNodes = (this.model as unknown as { executor?: { graph?: { nodes?: Record<string, { category?: string }> } } }).executor?.graph?.nodes;
    const byName = new Map(this.graph.node.map((n) => [n.name, n]));
    const seen = new Set<string>();
    const stack = fetches.map((f) => parseTensorName(f).node);
    while (stack.length) {
      const name = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const node = byName.get(name)!;
      if (fed.has(name)) continue;
      if (node.op === 'Placeholder') throw fileError(this.file, `placeholder ${quoted(name)} must be fed to compute ${fetches.join(', ')}`);
      if (executorNodes?.[name] && executorNodes[name].category === undefined) throw this.unsupported(node.op, name);
      for (const i of node.input ?? []) stack.push(parseTensorName(i).node);
    }
  }

  private unsupported(op: string, node?: string): Error {
    const at = node ?? this.graph.node.find((n) => n.op === op)?.name;
    if (op === 'VariableV2' || op === 'Variable' || op === 'VarHandleOp') {
      return fileError(this.file, `node ${quoted(at ?? op)} is a variable (${op}): the graph is not frozen (run the .meta with its checkpoint, or freeze it first)`);
    }
    const name = /^[\w./-]+$/.test(op) ? op : quoted(op);
    // Inlined TF 2 functions give long node names whose tail says the most: allow more than quoted's default.
    return fileError(this.file, `op ${name}${at ? ` (node ${quoted(at, 200)})` : ''} is not supported by TensorFlow.js's graph executor`);
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * Why TensorFlow.js refused, as `: its message`, when that message is its own account of the
 * problem (a shape mismatch, an unknown op); nothing of a JavaScript error raised inside it
 * (reading a property of undefined…), which says nothing about the graph.
 */
function libraryReason(err: unknown): string {
  const internal = !(err instanceof Error) || err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError;
  const message = oneLine(err);
  if (internal || /\b(undefined|null|NaN)\b|\[object /.test(message)) {
    return ' (TensorFlow.js failed inside its executor; the graph is probably damaged: check it with TensorFlow)';
  }
  return `: ${message.length > 300 ? `${message.slice(0, 300)}…` : message}`;
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
}
