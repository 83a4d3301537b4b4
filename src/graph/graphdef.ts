/**
 * Our graph-as-data (src/models/graph.ts) written as a TensorFlow GraphDef with TensorFlow's op
 * names and attributes, and `convert_variables_to_constants`: every variable becomes a `Const`
 * named as the variable (`layer1/weights`) read through an Identity (`layer1/weights/read`), as
 * in the frozen graphs TensorFlow writes.
 */
import { requiredNodes, type Graph, type GraphNode } from '../models/graph.js';
import { attr, type GraphDef, type NodeDef, type TensorValue } from '../formats/graphdef.js';

/** TensorFlow's GraphDef producer version of the ops and attributes written here (TF 1.15). */
export const GRAPH_PRODUCER = 134;

export const DEFAULT_PROBABILITIES_NODE = 'probabilities';

/** `layer1/weights` → `layer1/weights/read`, the Identity through which TensorFlow reads a variable. */
export function readNodeName(variable: string): string {
  return `${variable}/read`;
}

function int32Const(name: string, shape: number[], values: number[]): NodeDef {
  return {
    name,
    op: 'Const',
    input: [],
    attr: { dtype: attr.type('int32'), value: attr.tensor({ dtype: 'int32', shape, data: Int32Array.from(values) }) },
  };
}

const T = attr.type('float32');

/**
 * The GraphDef nodes for one of our nodes (plus the constants some ops take as inputs: Reshape's
 * shape, Pad's paddings, ConcatV2's axis). Variables are not translated here; an input that
 * names a variable is rewired to `variableInput(name)`.
 */
export function translateNode(node: GraphNode, isVariable: (name: string) => boolean, variableInput: (name: string) => string = readNodeName): NodeDef[] {
  const inputs = node.inputs.map((i) => (isVariable(i) ? variableInput(i) : i));
  const a = node.attrs;
  const make = (op: string, attrs: NodeDef['attr'], extraInputs: string[] = []): NodeDef => ({ name: node.name, op, input: [...inputs, ...extraInputs], attr: attrs });
  switch (node.op) {
    case 'Placeholder':
      return [make('Placeholder', { dtype: attr.type('float32'), shape: attr.shape(a.shape as Array<number | null>) })];
    case 'MatMul':
      return [make('MatMul', { T, transpose_a: attr.b(Boolean(a.transpose_a)), transpose_b: attr.b(Boolean(a.transpose_b)) })];
    case 'Add':
    case 'Relu':
    case 'Tanh':
    case 'Sigmoid':
    case 'Softmax':
    case 'Identity':
      return [make(node.op, { T })];
    case 'BiasAdd':
      return [make('BiasAdd', { T, data_format: attr.s('NHWC') })];
    case 'Conv2D':
      return [
        make('Conv2D', {
          T,
          strides: attr.ints(a.strides as number[]),
          padding: attr.s(a.padding as string),
          data_format: attr.s('NHWC'),
          use_cudnn_on_gpu: attr.b(true),
          dilations: attr.ints([1, 1, 1, 1]),
        }),
      ];
    case 'MaxPool':
    case 'AvgPool':
      return [make(node.op, { T, ksize: attr.ints(a.ksize as number[]), strides: attr.ints(a.strides as number[]), padding: attr.s(a.padding as string), data_format: attr.s('NHWC') })];
    case 'Reshape': {
      const shape = a.shape as number[];
      return [int32Const(`${node.name}/shape`, [shape.length], shape), make('Reshape', { T, Tshape: attr.type('int32') }, [`${node.name}/shape`])];
    }
    case 'Pad': {
      const paddings = a.paddings as Array<[number, number]>;
      return [int32Const(`${node.name}/paddings`, [paddings.length, 2], paddings.flat()), make('Pad', { T, Tpaddings: attr.type('int32') }, [`${node.name}/paddings`])];
    }
    case 'ConcatV2':
      return [int32Const(`${node.name}/axis`, [], [a.axis as number]), make('ConcatV2', { T, N: attr.i(inputs.length), Tidx: attr.type('int32') }, [`${node.name}/axis`])];
    case 'FusedBatchNormV3':
      // An inference graph normalises with the moving statistics (the momentum is training's alone).
      return [make('FusedBatchNormV3', { T, U: T, epsilon: attr.f(a.epsilon as number), exponential_avg_factor: attr.f(1), data_format: attr.s('NHWC'), is_training: attr.b(false) })];
    case 'Dropout':
      // Inference graphs keep no dropout: the node stays (so names still resolve) as an Identity.
      return [make('Identity', { T })];
    default:
      // An op added to graph.ts after this file: written as is (TensorFlow's op name, attrs by
      // their JavaScript type) so that training and freezing keep working; check it runs.
      return [make(node.op, { T, ...genericAttrs(a) })];
  }
}

function genericAttrs(attrs: Record<string, unknown>): NonNullable<NodeDef['attr']> {
  const out: NonNullable<NodeDef['attr']> = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (typeof value === 'boolean') out[key] = attr.b(value);
    else if (typeof value === 'number') out[key] = Number.isInteger(value) ? attr.i(value) : attr.f(value);
    else if (typeof value === 'string') out[key] = attr.s(value);
    else if (Array.isArray(value) && value.every((v) => Number.isInteger(v))) out[key] = attr.ints(value as number[]);
  }
  return out;
}

/** A variable frozen into a constant plus its `/read` Identity, as convert_variables_to_constants leaves it. */
export function frozenVariableNodes(name: string, value: TensorValue): NodeDef[] {
  return [
    { name, op: 'Const', input: [], attr: { dtype: attr.type(value.dtype), value: attr.tensor(value) } },
    { name: readNodeName(name), op: 'Identity', input: [name], attr: { T: attr.type(value.dtype), _class: attr.strings([`loc:@${name}`]) } },
  ];
}

export interface FreezeOptions {
  /** Nodes to keep (with everything they need). */
  outputs: string[];
  /** The value of each variable, by variable name. */
  values: (variable: string) => TensorValue;
}

/**
 * convert_variables_to_constants for our graphs: the nodes `outputs` need, variables replaced by
 * their values. Unknown output names are an error naming the node.
 */
export function freezeGraph(graph: Graph, options: FreezeOptions): GraphDef {
  const known = new Set(graph.nodes.map((n) => n.name));
  for (const o of options.outputs) if (!known.has(o)) throw new Error(`graph has no node named ${o}`);
  const kept = requiredNodes(graph, options.outputs);
  const variables = new Set(kept.filter((n) => n.op === 'Variable').map((n) => n.name));
  const node: NodeDef[] = [];
  for (const n of kept) {
    if (n.op === 'Variable') node.push(...frozenVariableNodes(n.name, options.values(n.name)));
    else node.push(...translateNode(n, (name) => variables.has(name)));
  }
  return { node, versions: { producer: GRAPH_PRODUCER } };
}

/** Our graph with a Softmax of the logits added under `name` (what predict uses). */
export function withProbabilities(graph: Graph, logits: string, name = DEFAULT_PROBABILITIES_NODE): Graph {
  if (graph.nodes.some((n) => n.name === name)) return graph;
  return { nodes: [...graph.nodes, { name, op: 'Softmax', inputs: [logits], attrs: {} }] };
}
