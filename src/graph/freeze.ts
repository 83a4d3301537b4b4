/**
 * Freezing a built model: the inference graph with the model's current variable values (EMA
 * values when the caller restored those) as constants — the book's convert_variables_to_constants
 * followed by writing the GraphDef to a `.pb` file.
 */
import { encodeGraphDef, type GraphDef, type TensorValue } from '../formats/graphdef.js';
import { UserError } from '../errors.js';
import type { Model } from '../models/model.js';
import { DEFAULT_PROBABILITIES_NODE, freezeGraph, withProbabilities } from './graphdef.js';

export interface FreezeModelOptions {
  /** Output nodes; default: the logits node and a Softmax of it named `probabilities`. */
  outputs?: string[];
}

export function variableValue(model: Model, name: string): TensorValue {
  const entry = model.store.get(name);
  if (!entry) throw new UserError(`model ${model.name} has no variable ${name}`);
  return { dtype: 'float32', shape: [...entry.shape], data: Float32Array.from(entry.variable.dataSync() as Float32Array) };
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
  return freezeGraph(graph, { outputs, values: (name) => variableValue(model, name) });
}

export function freezeModelToBytes(model: Model, options: FreezeModelOptions = {}): Uint8Array {
  return encodeGraphDef(freezeModel(model, options));
}
