import * as tf from '@tensorflow/tfjs';
import { execute } from './execute.js';
import type { GraphNode } from './graph.js';
import type { Model } from './model.js';

/** One row of `mnist summary`: the nodes of one variable scope (a layer), or one unscoped op. */
export interface LayerRow {
  name: string;
  /** The ops of the layer in order, e.g. `Conv2D+BiasAdd+Relu`. */
  type: string;
  /** Output shape without the batch dimension. */
  outputShape: number[];
  params: number;
  /** Floating-point operations for one example's forward pass (a multiply-add counts 2). */
  flops: number;
}

export interface ModelSummary {
  model: string;
  layers: LayerRow[];
  totalParams: number;
  trainableParams: number;
  flopsPerExample: number;
}

/** Keras's model.summary() for a registry model: one forward pass of one blank example gives every node's shape. */
export function summarize(model: Model): ModelSummary {
  const nodes = model.graph.nodes.filter((n) => n.op !== 'Variable');
  const placeholder = nodes.find((n) => n.name === model.input)!;
  const inputShape = (placeholder.attrs.shape as Array<number | null>).map((d) => d ?? 1);
  const shapes = new Map<string, number[]>();
  tf.tidy(() => {
    const outputs = execute(model.graph, { [model.input]: tf.zeros(inputShape) }, nodes.map((n) => n.name), {
      training: false,
      variable: (name) => model.store.get(name)!.variable,
    });
    nodes.forEach((n, i) => shapes.set(n.name, outputs[i].shape.slice(1)));
  });
  const inputShapeOf = (n: GraphNode, k: number) => shapes.get(n.inputs[k]) ?? variableShape(model, n.inputs[k]);
  const rows = new Map<string, LayerRow>();
  for (const node of nodes) {
    const layer = layerName(node.name);
    const row = rows.get(layer) ?? { name: layer, type: '', outputShape: [], params: 0, flops: 0 };
    // Each op once, in order: an Inception module's many branches read `Conv2D+BiasAdd+Relu+MaxPool+ConcatV2`.
    if (node.op !== 'Identity' && !row.type.split('+').includes(node.op)) row.type = row.type ? `${row.type}+${node.op}` : node.op;
    row.outputShape = shapes.get(node.name) ?? [];
    row.flops += forwardFlops(node, row.outputShape, (k) => inputShapeOf(node, k));
    rows.set(layer, row);
  }
  // A variable's parameters belong to the layer of the first node that reads it (its scope's, or an unscoped op's).
  const counted = new Set<string>();
  for (const node of nodes) {
    for (const input of node.inputs) {
      const v = model.store.get(input);
      if (!v || counted.has(input)) continue;
      counted.add(input);
      rows.get(layerName(node.name))!.params += v.variable.size;
    }
  }
  const layers = [...rows.values()];
  return {
    model: model.name,
    layers,
    totalParams: model.store.all().reduce((n, v) => n + v.variable.size, 0),
    trainableParams: model.store.trainable().reduce((n, v) => n + v.variable.size, 0),
    flopsPerExample: layers.reduce((n, l) => n + l.flops, 0),
  };
}

/** `conv1/Conv2D` → `conv1`; an unscoped node is a layer of its own. */
function layerName(node: string): string {
  const slash = node.indexOf('/');
  return slash < 0 ? node : node.slice(0, slash);
}

function variableShape(model: Model, name: string): number[] {
  return model.store.get(name)?.variable.shape ?? [];
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function forwardFlops(node: GraphNode, out: number[], input: (k: number) => number[]): number {
  switch (node.op) {
    case 'MatMul':
      return 2 * size(out) * input(0).at(-1)!;
    case 'Conv2D': {
      const [kh, kw, inC] = input(1);
      return 2 * size(out) * kh * kw * inC;
    }
    case 'MaxPool':
    case 'AvgPool': {
      const k = (node.attrs.ksize as number[] | undefined) ?? [1, 2, 2, 1];
      return size(out) * k[1] * k[2];
    }
    case 'Add':
    case 'BiasAdd':
    case 'Relu':
    case 'Tanh':
    case 'Sigmoid':
      return size(out);
    case 'Softmax':
      return 3 * size(out);
    case 'FusedBatchNormV3':
      return 2 * size(out);
    default:
      return 0;
  }
}

export function formatSummary(s: ModelSummary): string {
  const table = [['layer', 'type', 'output shape', 'params', 'FLOPs'], ...s.layers.map((l) => [l.name, l.type, `[${['?', ...l.outputShape].join(', ')}]`, count(l.params), count(l.flops)])];
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c >= 3 ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd();
  const rule = '-'.repeat(line(table[0]).length);
  return [
    `Model: ${s.model}`,
    rule,
    line(table[0]),
    rule,
    ...table.slice(1).map(line),
    rule,
    `Total params: ${count(s.totalParams)} (${(s.totalParams * 4 / 2 ** 20).toFixed(2)} MiB as float32)`,
    `Trainable params: ${count(s.trainableParams)}`,
    `FLOPs per example (forward): ${count(s.flopsPerExample)}`,
  ].join('\n');
}

const count = (n: number) => n.toLocaleString('en-US');
