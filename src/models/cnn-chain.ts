import type { CnnStepShape } from '../backend/cnn-step.js';
import type { VariableEntry } from '../variables/store.js';
import type { GraphNode } from './graph.js';
import type { Model } from './model.js';

/**
 * The op chain (Variables and the input left out) a whole CNN step computes: fast-cnn's graph
 * conv → bias → ReLU → pool → conv → bias → ReLU → pool → flatten → fc → ReLU → fc.
 */
const CNN_CHAIN = ['Reshape', 'Conv2D', 'BiasAdd', 'Relu', 'MaxPool', 'Conv2D', 'BiasAdd', 'Relu', 'MaxPool', 'Reshape',
  'MatMul', 'Add', 'Relu', 'MatMul', 'Add'];

/** Which inputs of each op are variables (by position in the chain). */
const VARIABLE_INPUT: Record<number, number> = { 1: 1, 2: 1, 5: 1, 6: 1, 10: 1, 11: 1, 13: 1, 14: 1 };

function isPlainConv(n: GraphNode): boolean {
  return n.attrs.padding === 'VALID' && JSON.stringify(n.attrs.strides) === '[1,1,1,1]' && n.attrs.dilations === undefined;
}
function isPool2x2(n: GraphNode): boolean {
  return n.attrs.padding === 'VALID' && JSON.stringify(n.attrs.ksize) === '[1,2,2,1]' && JSON.stringify(n.attrs.strides) === '[1,2,2,1]';
}

/**
 * The shape of the network if `model`'s graph is exactly that chain on 28×28×1 images, with the
 * variables in the graph's order; else undefined.
 */
export function cnnStepShape(model: Model): { shape: CnnStepShape; variables: VariableEntry[] } | undefined {
  const nodes = model.graph.nodes.filter((n) => n.op !== 'Variable' && n.name !== model.input);
  if (nodes.length !== CNN_CHAIN.length || nodes[nodes.length - 1].name !== model.output) return undefined;
  const variables: VariableEntry[] = [];
  let previous = model.input;
  for (const [i, n] of nodes.entries()) {
    if (n.op !== CNN_CHAIN[i] || n.inputs[0] !== previous) return undefined;
    const variableAt = VARIABLE_INPUT[i];
    if (variableAt === undefined ? n.inputs.length !== 1 : n.inputs.length !== 2) return undefined;
    if (variableAt !== undefined) {
      const v = model.store.get(n.inputs[variableAt]);
      if (!v || !v.trainable || v.variable.dtype !== 'float32') return undefined;
      variables.push(v);
    }
    if (n.op === 'Conv2D' && !isPlainConv(n)) return undefined;
    if (n.op === 'MaxPool' && !isPool2x2(n)) return undefined;
    if (n.op === 'MatMul' && (n.attrs.transpose_a || n.attrs.transpose_b)) return undefined;
    previous = n.name;
  }
  if (JSON.stringify(nodes[0].attrs.shape) !== '[-1,28,28,1]') return undefined;
  const [w1, b1, w2, b2, w3, b3, w4, b4] = variables.map((v) => v.variable.shape);
  const [k1, , cin, c1] = w1;
  const [k2, , c1b, c2] = w2;
  const h1 = 28 - k1 + 1;
  const h2 = h1 / 2 - k2 + 1;
  const flat = (h2 / 2) ** 2 * c2;
  const [hidden, classes] = [w3[1], w4[1]];
  const consistent = w1[1] === k1 && cin === 1 && w2[1] === k2 && c1b === c1 && h1 % 2 === 0 && h2 > 0 && h2 % 2 === 0 &&
    w3[0] === flat && w4[0] === hidden && b1[0] === c1 && b2[0] === c2 && b3[0] === hidden && b4[0] === classes &&
    JSON.stringify(nodes[9].attrs.shape) === `[-1,${flat}]`;
  if (!consistent) return undefined;
  return { shape: { k1, c1, k2, c2, hidden, classes }, variables };
}
