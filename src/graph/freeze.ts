/**
 * Freezing a built model: the inference graph with the model's current variable values (EMA
 * values when the caller restored those) as constants — the book's convert_variables_to_constants
 * followed by writing the GraphDef to a `.pb` file.
 */
import { encodeGraphDef, type GraphDef, type TensorValue } from '../formats/graphdef.js';
import { UserError } from '../errors.js';
import type { Graph } from '../models/graph.js';
import type { Model } from '../models/model.js';
import type { VariableStore } from '../variables/store.js';
import { DEFAULT_PROBABILITIES_NODE, freezeGraph, withProbabilities } from './graphdef.js';

export interface FreezeModelOptions {
  /** Output nodes; default: the logits node and a Softmax of it named `probabilities`. */
  outputs?: string[];
}

/** The current value of a variable of the store. */
export function variableValue(store: VariableStore, name: string): TensorValue {
  const entry = store.get(name);
  if (!entry) throw new UserError(`no variable named ${name}`);
  return { dtype: 'float32', shape: [...entry.shape], data: Float32Array.from(entry.variable.dataSync() as Float32Array) };
}

/** convert_variables_to_constants(sess, graph_def, outputs) for any graph whose variables live in `store`. */
export function freezeWithStore(graph: Graph, store: VariableStore, outputs: string[]): GraphDef {
  return freezeGraph(graph, { outputs, values: (name) => variableValue(store, name) });
}

/** The outputs a frozen model offers by default: logits and probabilities. */
export function defaultOutputs(model: Model): string[] {
  return [model.output, DEFAULT_PROBABILITIES_NODE];
}

export function freezeModel(model: Model, options: FreezeModelOptions = {}): GraphDef {
  const graph = withProbabilities(model.graph, model.output);
  const outputs = options.outputs?.length ? options.outputs : defaultOutputs(model);
  const known = new Set(graph.nodes.map((n) => n.name));
  const unknown = outputs.filter((o) => !known.has(o));
  if (unknown.length) throw new UserError(`model ${model.name} has no node named ${unknown.map((u) => `"${u}"`).join(', ')} (its nodes: ${[...known].join(', ')})`);
  return freezeWithStore(graph, model.store, outputs);
}

export function freezeModelToBytes(model: Model, options: FreezeModelOptions = {}): Uint8Array {
  return encodeGraphDef(freezeModel(model, options));
}
