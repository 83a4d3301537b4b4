/**
 * Tensor names (`node:0`, `^node`) and pruning a graph to what some outputs need.
 */
import { fileError, quoted } from '../errors.js';
import { GraphDef, NodeDef } from './graph-messages.js';

/** `name:0` → {node: name, index: 0}; `^name` (control input) → {node: name, control: true}. */
export function parseTensorName(input: string): { node: string; index: number; control: boolean } {
  if (input.startsWith('^')) return { node: input.slice(1), index: -1, control: true };
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? { node: m[1], index: Number(m[2]), control: false } : { node: input, index: 0, control: false };
}

/**
 * The names of the nodes `outputs` (node or tensor names) depend on, control inputs included;
 * `visit` sees each node once, before its inputs are followed.
 */
export function dependencies(graph: GraphDef, outputs: string[], file: string, visit?: (node: NodeDef) => void): Set<string> {
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  const needed = new Set<string>();
  const stack = outputs.map((o) => parseTensorName(o).node);
  while (stack.length) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    const node = byName.get(name);
    if (!node) throw fileError(file, `graph has no node named ${quoted(name)}`);
    visit?.(node);
    needed.add(name);
    for (const input of node.input ?? []) stack.push(parseTensorName(input).node);
  }
  return needed;
}

/** The nodes `outputs` (node or tensor names) depend on, control inputs included, in graph order. */
export function pruneGraphDef(graph: GraphDef, outputs: string[], file: string): GraphDef {
  const needed = dependencies(graph, outputs, file);
  return { ...graph, node: graph.node.filter((n) => needed.has(n.name)) };
}
