import type { Initializer } from '../variables/initializers.js';
import type { Regularizer } from '../variables/regularizers.js';
import { VariableStore, type Reuse } from '../variables/store.js';

/**
 * A model's inference graph as data: nodes with TensorFlow op names, inputs by node name, and
 * attributes. The same description runs on TensorFlow.js (`execute.ts`) and is written out as a
 * TensorFlow GraphDef (freeze) — one definition per model.
 *
 * Ops: Placeholder, Variable (reads the variable of the same name), MatMul, Add, BiasAdd, Relu,
 * Tanh, Sigmoid, Softmax, Identity, Conv2D, MaxPool, AvgPool, Reshape, Pad, ConcatV2, Dropout
 * (training only; an Identity in inference graphs), FusedBatchNormV3 (batch statistics when
 * training, the moving ones otherwise; written with is_training false).
 */
export interface GraphNode {
  name: string;
  op: string;
  inputs: string[];
  attrs: Record<string, unknown>;
}

export interface Graph {
  nodes: GraphNode[];
}

export type Padding = 'SAME' | 'VALID';

/**
 * Records nodes while a model-building function runs. Node names follow TensorFlow's rules:
 * scoped by the current variable scope, made unique with `_1`, `_2` suffixes.
 */
export class GraphBuilder {
  readonly graph: Graph = { nodes: [] };
  private readonly names = new Set<string>();

  constructor(readonly store: VariableStore) {}

  scope<T>(name: string, fn: () => T, opts: { reuse?: Reuse } = {}): T {
    return this.store.variableScope(name, opts, fn);
  }

  private add(op: string, base: string, inputs: string[], attrs: Record<string, unknown> = {}, exactName = false): string {
    const prefix = this.store.scopeName;
    let name = exactName ? base : prefix ? `${prefix}/${base}` : base;
    if (this.names.has(name)) {
      if (exactName) throw new Error(`graph already has a node named ${name}`);
      let i = 1;
      while (this.names.has(`${name}_${i}`)) i++;
      name = `${name}_${i}`;
    }
    this.names.add(name);
    this.graph.nodes.push({ name, op, inputs, attrs });
    return name;
  }

  placeholder(name: string, shape: Array<number | null>): string {
    return this.add('Placeholder', name, [], { shape, dtype: 'float32' });
  }

  /** get_variable in the current scope; the node is named after the variable. */
  variable(name: string, shape: number[], opts: { initializer?: Initializer; regularizer?: Regularizer; trainable?: boolean } = {}): string {
    this.store.getVariable(name, shape, opts);
    const full = this.store.scopeName ? `${this.store.scopeName}/${name}` : name;
    if (this.names.has(full)) return full;
    return this.add('Variable', full, [], { shape }, true);
  }

  matMul(a: string, b: string): string {
    return this.add('MatMul', 'MatMul', [a, b], { transpose_a: false, transpose_b: false });
  }

  add2(a: string, b: string): string {
    return this.add('Add', 'add', [a, b]);
  }

  biasAdd(x: string, bias: string): string {
    return this.add('BiasAdd', 'BiasAdd', [x, bias]);
  }

  relu(x: string): string {
    return this.add('Relu', 'Relu', [x]);
  }

  tanh(x: string): string {
    return this.add('Tanh', 'Tanh', [x]);
  }

  sigmoid(x: string): string {
    return this.add('Sigmoid', 'Sigmoid', [x]);
  }

  softmax(x: string, name = 'Softmax'): string {
    return this.add('Softmax', name, [x]);
  }

  identity(x: string, name = 'Identity'): string {
    return this.add('Identity', name, [x]);
  }

  conv2d(x: string, filter: string, strides: [number, number], padding: Padding): string {
    return this.add('Conv2D', 'Conv2D', [x, filter], { strides: [1, strides[0], strides[1], 1], padding });
  }

  maxPool(x: string, ksize: [number, number], strides: [number, number], padding: Padding): string {
    return this.add('MaxPool', 'MaxPool', [x], { ksize: [1, ksize[0], ksize[1], 1], strides: [1, strides[0], strides[1], 1], padding });
  }

  avgPool(x: string, ksize: [number, number], strides: [number, number], padding: Padding): string {
    return this.add('AvgPool', 'AvgPool', [x], { ksize: [1, ksize[0], ksize[1], 1], strides: [1, strides[0], strides[1], 1], padding });
  }

  reshape(x: string, shape: number[]): string {
    return this.add('Reshape', 'Reshape', [x], { shape });
  }

  pad(x: string, paddings: Array<[number, number]>): string {
    return this.add('Pad', 'Pad', [x], { paddings });
  }

  concat(xs: string[], axis: number): string {
    return this.add('ConcatV2', 'concat', xs, { axis });
  }

  /**
   * Batch normalisation of an NHWC feature map (tf.layers.batch_normalization, fused): per channel,
   * (x − μ)/√(σ² + ε)·scale + offset, with μ, σ² the batch's statistics when training (which then
   * move `mean` and `variance` by `1 − momentum` towards them) and those two variables otherwise.
   */
  batchNorm(x: string, scale: string, offset: string, mean: string, variance: string, opts: { epsilon: number; momentum: number }): string {
    return this.add('FusedBatchNormV3', 'FusedBatchNormV3', [x, scale, offset, mean, variance], { epsilon: opts.epsilon, momentum: opts.momentum });
  }

  /** tf.nn.dropout with keep probability 1 - rate; active only when training. */
  dropout(x: string, rate: number): string {
    return this.add('Dropout', 'dropout', [x], { rate });
  }
}

/** The nodes `outputs` depend on, in graph order. */
export function requiredNodes(graph: Graph, outputs: string[]): GraphNode[] {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const needed = new Set<string>();
  const visit = (name: string) => {
    if (needed.has(name)) return;
    const node = byName.get(name);
    if (!node) throw new Error(`graph has no node named ${name}`);
    needed.add(name);
    node.inputs.forEach(visit);
  };
  outputs.forEach(visit);
  return graph.nodes.filter((n) => needed.has(n.name));
}
