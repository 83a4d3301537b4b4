/**
 * Function inlining: TensorFlow 2 graphs (SavedModels of tf.functions and Keras models) are a thin
 * top-level graph whose nodes call functions of `GraphDef.library` (`StatefulPartitionedCall`,
 * `PartitionedCall`, or a node whose op is the function's own name), and those bodies call further
 * functions. TensorFlow.js's executor runs plain graphs only, so every call is replaced by the called
 * body, as TensorFlow's own inliner does before optimizing a graph:
 *
 * - each body node is copied under the call's name (`call/node`), its inputs rewritten: an argument
 *   becomes the caller's input tensor, `node:output_arg:index` (the function-body naming) the flat
 *   `call/node:k`, where k counts the outputs of the arguments before `output_arg` in the op's OpDef;
 * - the call node itself becomes an `IdentityN` of the function's returned tensors (plus control
 *   inputs on its control outputs), so that `call:k` and `^call` keep their meaning for consumers.
 *
 * Calls inside bodies are inlined the same way, depth first.
 */
import { fileError, quoted } from '../errors.js';
import { dependencies, parseTensorName, type FunctionDef, type GraphDef, type NodeDef, type OpDef } from '../formats/graphdef.js';
import { opDef as knownOpDef } from './op-defs.js';

export const FUNCTION_CALL_OPS = new Set(['StatefulPartitionedCall', 'PartitionedCall']);

type ArgDef = NonNullable<OpDef['output_arg']>[number];

/** Output signatures of ops every TF 2 graph uses, for graphs that do not record their OpDefs. */
const BUILTIN_OUTPUTS: Record<string, ArgDef[]> = {
  StatefulPartitionedCall: [{ name: 'output', type_list_attr: 'Tout' }],
  PartitionedCall: [{ name: 'output', type_list_attr: 'Tout' }],
  ReadVariableOp: [{ name: 'value', type_attr: 'dtype' }],
  VarHandleOp: [{ name: 'resource', type: 'DT_RESOURCE' }],
  AddV2: [{ name: 'z', type_attr: 'T' }],
  IdentityN: [{ name: 'output', type_list_attr: 'T' }],
};

export interface InlineOptions {
  /** The file the graph came from, for error messages. */
  file: string;
  /** OpDefs recorded with the graph (a MetaGraphDef's `stripped_op_list`), used before the built-in ones. */
  opDefs?: OpDef[];
}

/** Calls nested deeper than this are taken for recursion (TensorFlow refuses to inline recursive functions too). */
const MAX_DEPTH = 64;

/** The graph with every function call replaced by the called function's body; the library is dropped. */
export function inlineFunctions(graph: GraphDef, options: InlineOptions): GraphDef {
  const inliner = new Inliner(graph, options);
  const node: NodeDef[] = [];
  for (const n of graph.node) inliner.emit(n, [], node);
  const names = new Set<string>();
  for (const n of node) {
    if (names.has(n.name)) throw fileError(options.file, `inlining gives two nodes named ${quoted(n.name, 200)} (a node of the graph already has a name under a call's name)`);
    names.add(n.name);
  }
  const { library: _library, ...rest } = graph;
  return { ...rest, node };
}

/** True when some node of the graph calls a library function. */
export function callsFunctions(graph: GraphDef): boolean {
  const names = new Set((graph.library?.function ?? []).map((f) => f.signature?.name));
  return graph.node.some((n) => FUNCTION_CALL_OPS.has(n.op) || names.has(n.op));
}

class Inliner {
  private readonly functions: Map<string, FunctionDef>;
  private readonly opDefs: Map<string, OpDef>;

  constructor(
    graph: GraphDef,
    private readonly options: InlineOptions,
  ) {
    const library = graph.library?.function ?? [];
    library.forEach((f, i) => {
      if (!f.signature?.name) throw fileError(options.file, `function ${i} of the graph's library has no name (damaged graph?)`);
      for (const b of f.node_def ?? []) {
        if (!b.name || !b.op) throw fileError(options.file, `function ${quoted(f.signature.name)} has a node without a ${b.name ? 'op' : 'name'} (damaged graph?)`);
      }
    });
    this.functions = new Map(library.map((f) => [f.signature.name, f]));
    this.opDefs = new Map((options.opDefs ?? []).map((d) => [d.name, d]));
  }

  /** The function a node calls, if it is a call. */
  private calledFunction(n: NodeDef): string | undefined {
    if (FUNCTION_CALL_OPS.has(n.op)) {
      const name = n.attr?.f?.func?.name;
      if (!name) throw fileError(this.options.file, `node ${quoted(n.name)} (${n.op}) names no function (attribute "f" missing)`);
      return name;
    }
    return this.functions.has(n.op) ? n.op : undefined;
  }

  /** Appends `n` to `out`, or the inlined body of the function it calls. `stack`: the functions being inlined. */
  emit(n: NodeDef, stack: string[], out: NodeDef[]): void {
    const name = this.calledFunction(n);
    if (name === undefined) {
      out.push(n);
      return;
    }
    const where = stack.length ? ` (in function ${quoted(stack[stack.length - 1])})` : '';
    const fn = this.functions.get(name);
    if (!fn) throw fileError(this.options.file, `node ${quoted(n.name)}${where} calls function ${quoted(name)}, which is not in the graph's function library`);
    if (stack.includes(name) || stack.length >= MAX_DEPTH) throw fileError(this.options.file, `function ${quoted(name)} calls itself (recursion cannot be inlined)`);
    const inner = [...stack, name];

    const dataInputs = (n.input ?? []).filter((i) => !i.startsWith('^'));
    const controlInputs = (n.input ?? []).filter((i) => i.startsWith('^'));
    const args = fn.signature.input_arg ?? [];
    for (const a of [...args, ...(fn.signature.output_arg ?? [])]) {
      if (a.number_attr || a.type_list_attr) throw fileError(this.options.file, `function ${quoted(name)} has a list argument ${quoted(a.name)}; only functions of single tensors can be inlined`);
    }
    if (dataInputs.length !== args.length) {
      throw fileError(this.options.file, `node ${quoted(n.name)}${where} passes ${dataInputs.length} input(s) to function ${quoted(name)}, which takes ${args.length}`);
    }
    const argValue = new Map(args.map((a, i) => [a.name, dataInputs[i]]));
    const body = new Map((fn.node_def ?? []).map((b) => [b.name, b]));
    const prefix = `${n.name}/`;

    // A body reference (`x`, `node:out:0`, `^node`) as a tensor name of the flat graph.
    const resolve = (ref: string, context: string): string => {
      if (ref.startsWith('^')) {
        const target = ref.slice(1);
        if (!body.has(target)) throw fileError(this.options.file, `function ${quoted(name)}: ${context} has control input ${quoted(ref)}, not a node of the function`);
        return `^${prefix}${target}`;
      }
      // `arg`, `arg:0` (an argument), `node:out` or `node:out:i` (output i of output argument `out`).
      const parts = ref.split(':');
      const value = argValue.get(parts[0]);
      if (value !== undefined && (parts.length === 1 || (parts.length === 2 && parts[1] === '0'))) return value;
      const producer = body.get(parts[0]);
      if (!producer || parts.length < 2 || parts.length > 3 || (parts.length === 3 && !/^\d+$/.test(parts[2]))) {
        throw fileError(this.options.file, `function ${quoted(name)}: ${context} reads ${quoted(ref)}, which is neither an argument nor an output of a node of the function`);
      }
      return `${prefix}${parts[0]}:${this.flatIndex(producer, parts[1], Number(parts[2] ?? 0), name)}`;
    };

    for (const b of fn.node_def ?? []) {
      if (Object.values(b.attr ?? {}).some((v) => v.placeholder !== undefined)) {
        throw fileError(this.options.file, `function ${quoted(name)}: node ${quoted(b.name)} has an attribute set by the caller (a polymorphic function), which is not supported`);
      }
      const copy: NodeDef = { ...b, name: prefix + b.name, input: (b.input ?? []).map((i) => resolve(i, `node ${quoted(b.name)}`)) };
      this.emit(copy, inner, out);
    }

    const outputs = fn.signature.output_arg ?? [];
    const returned = outputs.map((o) => {
      const ref = fn.ret?.[o.name];
      if (ref === undefined) throw fileError(this.options.file, `function ${quoted(name)} does not say what its output ${quoted(o.name)} returns`);
      return resolve(ref, `output ${quoted(o.name)}`);
    });
    const controls = [...controlInputs, ...Object.values(fn.control_ret ?? {}).map((r) => resolve(`^${r}`, 'a control output'))];
    if (!outputs.length) {
      out.push({ name: n.name, op: 'NoOp', input: controls, attr: {} });
      return;
    }
    const tout = n.attr?.Tout?.list?.type;
    const types = outputs.map((o, i) => o.type ?? tout?.[i] ?? fn.attr?.[o.type_attr ?? '']?.type ?? n.attr?.[o.type_attr ?? '']?.type ?? 'DT_INVALID');
    out.push({ name: n.name, op: 'IdentityN', input: [...returned, ...controls], attr: { T: { list: { type: types } } } });
  }

  /** The flat output number of `node:arg:index` in a function body: outputs of the earlier output args, plus index. */
  private flatIndex(producer: NodeDef, argName: string, index: number, fnName: string): number {
    const called = this.calledFunction(producer);
    let outputArgs: ArgDef[] | undefined;
    let def: OpDef | undefined;
    if (called !== undefined && !FUNCTION_CALL_OPS.has(producer.op)) {
      outputArgs = this.functions.get(called)?.signature.output_arg ?? [];
    } else {
      def = this.opDefs.get(producer.op) ?? knownOpDef(producer.op);
      outputArgs = def?.output_arg ?? BUILTIN_OUTPUTS[producer.op];
    }
    if (!outputArgs) {
      throw fileError(this.options.file, `op ${producer.op} (node ${quoted(producer.name)} in function ${quoted(fnName)}) has no recorded OpDef, so its output ${quoted(`${argName}:${index}`)} cannot be numbered`);
    }
    let offset = 0;
    for (const arg of outputArgs) {
      const size = argSize(arg, producer, def);
      if (arg.name === argName) {
        if (size !== undefined && index >= size) break;
        return offset + index;
      }
      if (size === undefined) break;
      offset += size;
    }
    throw fileError(this.options.file, `function ${quoted(fnName)}: node ${quoted(producer.name)} (${producer.op}) has no output ${quoted(`${argName}:${index}`)}`);
  }
}

/** How many tensors an output argument stands for on this node (attribute, else the OpDef's default). */
function argSize(arg: ArgDef, node: NodeDef, def: OpDef | undefined): number | undefined {
  const attrValue = (name: string) => node.attr?.[name] ?? def?.attr?.find((a) => a.name === name)?.default_value;
  if (arg.number_attr) {
    const n = attrValue(arg.number_attr)?.i;
    return n === undefined ? undefined : Number(n);
  }
  if (arg.type_list_attr) return attrValue(arg.type_list_attr)?.list?.type?.length ?? 0;
  return 1;
}

/** Ops that change state (variables, files): a signature that needs one is not plain inference. */
const STATE_CHANGING = /^(Assign\w*|ResourceApply\w*|ResourceSparseApply\w*|ResourceScatter\w*|ResourceStridedSliceAssign|ScatterUpdate|Save|SaveV2|SaveSlices|RestoreV2|MergeV2Checkpoints|DestroyResourceOp)$/;

/**
 * An inlined graph made ready for TensorFlow.js's executor: cut down to what `outputs` need, refused
 * if that includes an op that changes a variable, then without control dependencies (in an inference
 * graph they only order reads after the function's own bookkeeping, and tfjs would take them for data
 * inputs) and with each `IdentityN` an inlined call left behind read through directly.
 */
export function prepareInlinedGraph(graph: GraphDef, outputs: string[], file: string): GraphDef {
  const needed = dependencies(graph, outputs, file, (node) => {
    if (STATE_CHANGING.test(node.op)) {
      throw fileError(file, `op ${node.op} (node ${quoted(node.name)}) changes state; signatures that update variables or files are not supported (only inference)`);
    }
    const branch = Object.values(node.attr ?? {}).find((v) => v.func?.name ?? v.list?.func?.length);
    if (branch) {
      const fn = branch.func?.name ?? branch.list!.func![0].name;
      throw fileError(file, `op ${node.op} (node ${quoted(node.name, 200)}) runs function ${quoted(fn)} (TF 2 control flow: tf.cond, tf.while_loop…), which is not supported`);
    }
  });
  const kept = graph.node.filter((n) => needed.has(n.name)).map((n) => ({ ...n, input: (n.input ?? []).filter((i) => !i.startsWith('^')) }));
  const identityN = new Map(kept.filter((n) => n.op === 'IdentityN').map((n) => [n.name, n]));
  const through = (input: string): string => {
    for (let seen = 0; seen <= identityN.size; seen++) {
      const { node, index } = parseTensorName(input);
      const ident = identityN.get(node);
      if (!ident || index >= ident.input!.length) return input;
      input = ident.input![index];
    }
    throw fileError(file, `IdentityN nodes form a cycle at ${quoted(input)}`);
  };
  const rewired = kept.map((n) => ({ ...n, input: n.input.map(through) }));
  // Read-through leaves IdentityN nodes nothing reads any more, except those fetched.
  const live = dependencies({ ...graph, node: rewired }, outputs, file);
  return { ...graph, node: rewired.filter((n) => live.has(n.name)) };
}

/**
 * Attributes left out because they held their default (`stripped_default_attrs`, as TF 2 saves
 * graphs) put back from the OpDefs recorded with the graph — what TensorFlow's importer does;
 * TensorFlow.js's executor reads some of them (a Conv2D's `dilations`) without a default of its own.
 */
export function addDefaultAttrs(graph: GraphDef, opDefs: OpDef[] | undefined): GraphDef {
  const defs = new Map((opDefs ?? []).map((d) => [d.name, d]));
  const node = graph.node.map((n) => {
    const missing = (defs.get(n.op)?.attr ?? []).filter((a) => a.default_value !== undefined && n.attr?.[a.name] === undefined);
    if (!missing.length) return n;
    return { ...n, attr: { ...n.attr, ...Object.fromEntries(missing.map((a) => [a.name, a.default_value!])) } };
  });
  return { ...graph, node };
}
