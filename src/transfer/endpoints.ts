/**
 * What `mnist transfer` needs from a frozen graph when the user names neither: the placeholder
 * the image goes into (the graph's only one) and the bottleneck — the input of the final
 * fully-connected layer (the data operand of the last MatMul before the outputs, e.g. Inception-v3's
 * `pool_3/_reshape:0` or the book's LeNet-5 `layer6-fc2/Relu:0`).
 */
import { fileError } from '../errors.js';
import { parseTensorName, type GraphDef, type NodeDef } from '../formats/graphdef.js';

const PASS_THROUGH = new Set(['Identity', 'Softmax', 'Add', 'AddV2', 'BiasAdd', 'Relu', 'Sigmoid', 'Tanh', 'Reshape', 'Squeeze']);

export function findInputPlaceholder(graph: GraphDef, file: string): string {
  const placeholders = graph.node.filter((n) => n.op === 'Placeholder').map((n) => n.name);
  if (placeholders.length === 1) return placeholders[0];
  if (!placeholders.length) throw fileError(file, 'the graph has no placeholder to feed the images into');
  throw fileError(file, `the graph has ${placeholders.length} placeholders (${placeholders.join(', ')}); choose the image input with --input`);
}

/** True when a tensor is a constant (a frozen weight), possibly read through Identity nodes. */
function isConstant(name: string, byName: Map<string, NodeDef>): boolean {
  let node = byName.get(parseTensorName(name).node);
  while (node?.op === 'Identity') node = byName.get(parseTensorName((node.input ?? [])[0] ?? '').node);
  return node?.op === 'Const';
}

export function findBottleneck(graph: GraphDef, file: string): string {
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  const consumed = new Set(graph.node.flatMap((n) => (n.input ?? []).map((i) => parseTensorName(i).node)));
  const outputs = graph.node.filter((n) => !consumed.has(n.name) && n.op !== 'NoOp' && n.op !== 'Placeholder' && n.op !== 'Const');
  const found = new Set<string>();
  for (const output of outputs) {
    // Walk back from the output through element-wise ops to the last MatMul.
    let node: NodeDef | undefined = output;
    const seen = new Set<string>();
    while (node && !seen.has(node.name)) {
      seen.add(node.name);
      if (node.op === 'MatMul') {
        const data = (node.input ?? []).filter((i) => !i.startsWith('^') && !isConstant(i, byName));
        if (data.length === 1) found.add(parseTensorName(data[0]).node + `:${parseTensorName(data[0]).index}`);
        break;
      }
      if (!PASS_THROUGH.has(node.op)) break;
      const next: string | undefined = (node.input ?? []).find((i) => !i.startsWith('^') && !isConstant(i, byName));
      node = next === undefined ? undefined : byName.get(parseTensorName(next).node);
    }
  }
  if (found.size === 1) return [...found][0];
  if (!found.size) throw fileError(file, 'cannot find the final fully-connected layer (a MatMul before the outputs); name the bottleneck tensor with --bottleneck');
  throw fileError(file, `the graph has several final layers (bottleneck candidates ${[...found].join(', ')}); choose one with --bottleneck`);
}
