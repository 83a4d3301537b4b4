/**
 * TensorFlow's own checks of a graph's nodes against their ops' signatures (what its importer
 * does with ValidateNodeDef), for the ops whose OpDef this project records: the attributes an op
 * requires are there and of the right kind, the node has as many inputs as the op takes, and no
 * input reads an output its producer does not have. TensorFlow.js checks none of this and fails
 * deep inside its executor, in words about its own internals; here the message names the node.
 */
import { fileError, quoted } from '../errors.js';
import { parseTensorName, type AttrValue, type GraphDef, type NodeDef, type OpDef } from '../formats/graphdef.js';
import { opDef } from './op-defs.js';

type ArgDef = NonNullable<OpDef['input_arg']>[number];

/** Which AttrValue field holds a value of an OpDef attr type. */
function attrField(type: string): keyof AttrValue {
  if (type.startsWith('list(')) return 'list';
  const fields: Record<string, keyof AttrValue> = { int: 'i', float: 'f', bool: 'b', string: 's', type: 'type', shape: 'shape', tensor: 'tensor', func: 'func' };
  return fields[type] ?? 'list';
}

/** How many tensors an argument stands for, or undefined when the node's attributes do not say. */
function argCount(arg: ArgDef, node: NodeDef): number | undefined {
  if (arg.number_attr) {
    const n = node.attr?.[arg.number_attr]?.i;
    return n === undefined ? undefined : Number(n);
  }
  if (arg.type_list_attr) return node.attr?.[arg.type_list_attr]?.list?.type?.length;
  return 1;
}

function argsCount(args: ArgDef[] | undefined, node: NodeDef): number | undefined {
  let total = 0;
  for (const arg of args ?? []) {
    const n = argCount(arg, node);
    if (n === undefined) return undefined;
    total += n;
  }
  return total;
}

/** Checks every node of a known op; throws a one-line UserError naming the file, the node and the op. */
export function validateGraph(graph: GraphDef, file: string): void {
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  for (const node of graph.node) {
    const def = opDef(node.op);
    const where = `node ${quoted(node.name)} (${quoted(node.op)})`;
    if (def) {
      for (const a of def.attr ?? []) {
        const value = node.attr?.[a.name];
        if (!value) {
          if (!a.default_value) throw fileError(file, `${where} has no attribute "${a.name}", which ${node.op} requires (damaged graph?)`);
          continue;
        }
        if (value.placeholder === undefined && value[attrField(a.type)] === undefined) {
          throw fileError(file, `${where}: attribute "${a.name}" should hold a ${a.type} (damaged graph?)`);
        }
        if (a.has_minimum && a.type === 'int' && Number(value.i) < Number(a.minimum)) {
          throw fileError(file, `${where}: attribute "${a.name}" is ${value.i}, below the minimum ${a.minimum}`);
        }
      }
      const expected = argsCount(def.input_arg, node);
      const got = (node.input ?? []).filter((i) => !i.startsWith('^')).length;
      if (expected !== undefined && got !== expected) {
        throw fileError(file, `${where} has ${got} input${got === 1 ? '' : 's'}, but ${node.op} takes ${expected} (damaged graph?)`);
      }
    }
    for (const [name, value] of Object.entries(node.attr ?? {})) {
      for (const shape of [value.shape, ...(value.list?.shape ?? [])]) {
        if (shape?.dim?.some((d) => !Number.isSafeInteger(Number(d.size ?? 0)) || Number(d.size ?? 0) < -1)) {
          throw fileError(file, `${where}: attribute ${quoted(name)} holds an impossible shape (damaged graph?)`);
        }
      }
    }
    for (const input of node.input ?? []) {
      const { node: from, index, control } = parseTensorName(input);
      const producer = byName.get(from);
      const producerDef = producer && opDef(producer.op);
      if (control || !producer || !producerDef) continue;
      const outputs = argsCount(producerDef.output_arg, producer);
      if (outputs !== undefined && index >= outputs) {
        const has = outputs === 0 ? 'no outputs' : `only ${outputs} output${outputs === 1 ? '' : 's'}`;
        throw fileError(file, `${where} reads ${quoted(input)}, but ${quoted(from)} (${producer.op}) has ${has} (damaged graph?)`);
      }
    }
  }
}
