import type { VariableEntry } from '../variables/store.js';
import type { GraphNode } from './graph.js';
import type { Model } from './model.js';

/**
 * The variables [w1, b1, w2, b2] of a model that is exactly x → relu(x·w1 + b1) → ·w2 + b2 = logits
 * (the book's MLP), with no other trainable variable and no other op (no dropout); else null.
 * Such a model can train in one native call per step (src/backend/dense-step.ts).
 */
export function denseChain(model: Model): VariableEntry[] | null {
  const byName = new Map(model.graph.nodes.map((n) => [n.name, n]));
  const node = (name: string | undefined, ...ops: string[]): GraphNode | undefined => {
    const n = name === undefined ? undefined : byName.get(name);
    return n && ops.includes(n.op) ? n : undefined;
  };
  const variable = (name: string | undefined, rank: number): VariableEntry | undefined => {
    const entry = node(name, 'Variable') && model.store.get(name!);
    return entry && entry.trainable && entry.shape.length === rank && entry.variable.dtype === 'float32' ? entry : undefined;
  };
  const plainMatMul = (n: GraphNode | undefined) => n && !n.attrs.transpose_a && !n.attrs.transpose_b ? n : undefined;

  const out = node(model.output, 'Add', 'BiasAdd');
  const m2 = plainMatMul(node(out?.inputs[0], 'MatMul'));
  const relu = node(m2?.inputs[0], 'Relu');
  const a1 = node(relu?.inputs[0], 'Add', 'BiasAdd');
  const m1 = plainMatMul(node(a1?.inputs[0], 'MatMul'));
  const input = node(m1?.inputs[0], 'Placeholder');
  const vars = [variable(m1?.inputs[1], 2), variable(a1?.inputs[1], 1), variable(m2?.inputs[1], 2), variable(out?.inputs[1], 1)];
  if (!input || input.name !== model.input || vars.some((v) => !v)) return null;
  const [w1, b1, w2, b2] = vars as VariableEntry[];
  const [k, h] = w1.shape;
  const c = w2.shape[1];
  if (b1.shape[0] !== h || w2.shape[0] !== h || b2.shape[0] !== c || k <= 0 || h <= 0 || c <= 0) return null;
  const trainable = model.store.trainable();
  if (trainable.length !== 4 || !vars.every((v) => trainable.includes(v!))) return null;
  return [w1, b1, w2, b2];
}
