/**
 * The MetaGraphDef tf.train.Saver writes beside each checkpoint (`model.ckpt-N.meta`), built the
 * way TensorFlow 1.x builds its graph (seed 003 has a full dump):
 * - every variable as `VariableV2` + `NAME/Assign` (from its initializer subgraph under
 *   `NAME/Initializer/`) + `NAME/read`, and an `init` NoOp running all the Assigns;
 * - the model's inference graph reading the variables through `NAME/read`;
 * - the regularization terms the book adds to the `losses` collection;
 * - the saver subgraph (`save/Const`, `save/SaveV2`, `save/control_dependency`, one `RestoreV2`
 *   + `Assign` per variable, `save/restore_all`) and the SaverDef naming it;
 * - collections `variables`, `trainable_variables` (VariableDef bytes), `losses` (tensor names)…
 * Training ops (gradients, optimizer updates) are not written: the graph is for inference and
 * for restoring (`import_meta_graph` + `restore`).
 */
import { attr, encodeMetaGraphDef, encodeVariableDef, type CollectionDef, type MetaGraphDef, type NodeDef, type TensorDType, type TensorValue } from '../formats/graphdef.js';
import type { Graph } from '../models/graph.js';
import type { Initializer } from '../variables/initializers.js';
import type { Regularizer } from '../variables/regularizers.js';
import { GRAPH_PRODUCER, readNodeName, translateNode } from './graphdef.js';
import { strippedOpList } from './op-defs.js';

/** TensorFlow's Saver defaults (seed 003's saver_def). */
export const SAVER_DEFAULTS = { maxToKeep: 5, keepCheckpointEveryNHours: 10000 } as const;

export interface MetaVariable {
  /** Checkpoint name, e.g. `layer1/weights`. */
  name: string;
  shape: number[];
  dtype: TensorDType;
  trainable: boolean;
  /** How it starts; default zeros. */
  initializer?: Initializer;
  /** Starts as a copy of another variable's initial value (EMA shadows). */
  initialValueOf?: string;
  /** Extra collections this variable belongs to (`moving_average_variables`, `global_step`). */
  collections?: string[];
  regularizer?: Regularizer;
}

export interface MetaGraphSpec {
  /** The inference graph; its `Variable` nodes are the variables of the same name. */
  graph: Graph;
  /** Every variable of the checkpoint, in creation order. */
  variables: MetaVariable[];
  maxToKeep?: number;
  keepCheckpointEveryNHours?: number;
}

class NodeList {
  readonly nodes: NodeDef[] = [];
  add(name: string, op: string, input: string[], attrs: NodeDef['attr'] = {}): string {
    this.nodes.push({ name, op, input, attr: attrs });
    return name;
  }
  scalar(name: string, dtype: TensorDType, value: number): string {
    const data = dtype === 'int64' ? BigInt64Array.of(BigInt(value)) : dtype === 'int32' ? Int32Array.of(value) : Float32Array.of(value);
    return this.add(name, 'Const', [], { dtype: attr.type(dtype), value: attr.tensor({ dtype, shape: [], data }) });
  }
  /** A Const of `shape` filled with one value (TensorFlow's single-value TensorProto). */
  filled(name: string, dtype: TensorDType, shape: number[], value: number): string {
    const proto = attr.tensor({ dtype, shape: [], data: dtype === 'int64' ? BigInt64Array.of(BigInt(value)) : Float32Array.of(value) });
    proto.tensor!.tensor_shape = { dim: shape.map((size) => ({ size })) };
    return this.add(name, 'Const', [], { dtype: attr.type(dtype), value: proto });
  }
  int32s(name: string, values: number[]): string {
    const value: TensorValue = { dtype: 'int32', shape: [values.length], data: Int32Array.from(values) };
    return this.add(name, 'Const', [], { dtype: attr.type('int32'), value: attr.tensor(value) });
  }
  strings(name: string, values: string[], scalar = false): string {
    const enc = new TextEncoder();
    const value: TensorValue = { dtype: 'string', shape: scalar ? [] : [values.length], data: values.map((v) => enc.encode(v)) };
    return this.add(name, 'Const', [], { dtype: attr.type('string'), value: attr.tensor(value) });
  }
}

const locClass = (name: string) => ({ _class: attr.strings([`loc:@${name}`]) });

/** The initializer subgraph of a variable, as get_variable builds it; returns the initial-value tensor name. */
function initializerNodes(g: NodeList, v: MetaVariable): string {
  const scope = `${v.name}/Initializer`;
  const init = v.initializer ?? { kind: 'zeros' as const };
  switch (init.kind) {
    case 'zeros':
      return `${g.filled(`${scope}/zeros`, v.dtype, v.shape, 0)}:0`;
    case 'constant':
      return `${g.filled(`${scope}/Const`, v.dtype, v.shape, init.value)}:0`;
    case 'truncated_normal':
    case 'random_normal': {
      const base = `${scope}/${init.kind}`;
      const shape = g.int32s(`${base}/shape`, v.shape);
      const mean = g.scalar(`${base}/mean`, v.dtype, init.mean ?? 0);
      const stddev = g.scalar(`${base}/stddev`, v.dtype, init.stddev);
      const sampleOp = init.kind === 'truncated_normal' ? 'TruncatedNormal' : 'RandomStandardNormal';
      const sample = g.add(`${base}/${sampleOp}`, sampleOp, [shape], { T: attr.type('int32'), dtype: attr.type(v.dtype), seed: attr.i(0), seed2: attr.i(0) });
      const mul = g.add(`${base}/mul`, 'Mul', [sample, stddev], { T: attr.type(v.dtype) });
      return `${g.add(base, 'Add', [mul, mean], { T: attr.type(v.dtype) })}:0`;
    }
  }
}

/** tf.contrib.layers.l1/l2_regularizer(scale)(weights), named as TensorFlow names it; returns the loss tensor. */
function regularizerNodes(g: NodeList, v: MetaVariable, reg: Regularizer): string {
  const scope = v.name.includes('/') ? `${v.name.slice(0, v.name.lastIndexOf('/'))}/` : '';
  const base = `${scope}${reg.kind}_regularizer`;
  const T = { T: attr.type('float32') };
  const scale = g.scalar(`${base}/scale`, 'float32', reg.scale);
  let term: string;
  if (reg.kind === 'l2') {
    term = g.add(`${base}/L2Loss`, 'L2Loss', [readNodeName(v.name)], T);
  } else {
    const abs = g.add(`${base}/Abs`, 'Abs', [readNodeName(v.name)], T);
    const axes = g.int32s(`${base}/Const`, v.shape.map((_, i) => i));
    term = g.add(`${base}/Sum`, 'Sum', [abs, axes], { ...T, Tidx: attr.type('int32'), keep_dims: attr.b(false) });
  }
  return `${g.add(base, 'Mul', [scale, term], T)}:0`;
}

/** tf.train.Saver's graph (V2 format, one RestoreV2 per variable as in seed 003). */
function saverNodes(g: NodeList, variables: MetaVariable[]): void {
  const sorted = [...variables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const filename = g.strings('save/Const', ['model'], true);
  const names = g.strings('save/SaveV2/tensor_names', sorted.map((v) => v.name));
  const slices = g.strings('save/SaveV2/shape_and_slices', sorted.map(() => ''));
  const save = g.add('save/SaveV2', 'SaveV2', [filename, names, slices, ...sorted.map((v) => v.name)], { dtypes: attr.types(sorted.map((v) => v.dtype)) });
  g.add('save/control_dependency', 'Identity', [filename, `^${save}`], { T: attr.type('string'), ...locClass(filename) });
  const assigns = sorted.map((v, i) => {
    const suffix = i === 0 ? '' : `_${i}`;
    const restoreNames = g.strings(`save/RestoreV2${suffix}/tensor_names`, [v.name]);
    const restoreSlices = g.strings(`save/RestoreV2${suffix}/shape_and_slices`, ['']);
    const restore = g.add(`save/RestoreV2${suffix}`, 'RestoreV2', [filename, restoreNames, restoreSlices], { dtypes: attr.types([v.dtype]) });
    return g.add(`save/Assign${suffix}`, 'Assign', [v.name, restore], { T: attr.type(v.dtype), ...locClass(v.name), use_locking: attr.b(true), validate_shape: attr.b(true) });
  });
  g.add('save/restore_all', 'NoOp', assigns.map((a) => `^${a}`));
}

function variableDefBytes(v: MetaVariable, initialValue: string): Uint8Array {
  return encodeVariableDef({ variable_name: `${v.name}:0`, initializer_name: `${v.name}/Assign`, snapshot_name: `${readNodeName(v.name)}:0`, initial_value_name: initialValue });
}

/** Builds the MetaGraphDef. */
export function buildMetaGraph(spec: MetaGraphSpec): MetaGraphDef {
  const g = new NodeList();
  const byName = new Map(spec.variables.map((v) => [v.name, v]));
  const initialValues = new Map<string, string>();
  const collections = new Map<string, Uint8Array[]>();
  const addToCollection = (key: string, bytes: Uint8Array) => collections.set(key, [...(collections.get(key) ?? []), bytes]);
  const losses: string[] = [];

  for (const v of spec.variables) {
    const source = v.initialValueOf && byName.has(v.initialValueOf) ? initialValues.get(v.initialValueOf) : undefined;
    const initial = source ?? initializerNodes(g, v);
    initialValues.set(v.name, initial);
    g.add(v.name, 'VariableV2', [], { shape: attr.shape(v.shape), dtype: attr.type(v.dtype), container: attr.s(''), shared_name: attr.s('') });
    g.add(`${v.name}/Assign`, 'Assign', [v.name, initial.replace(/:0$/, '')], { T: attr.type(v.dtype), ...locClass(v.name), use_locking: attr.b(true), validate_shape: attr.b(true) });
    g.add(readNodeName(v.name), 'Identity', [v.name], { T: attr.type(v.dtype), ...locClass(v.name) });
    const def = variableDefBytes(v, initial);
    addToCollection('variables', def);
    if (v.trainable) addToCollection('trainable_variables', def);
    for (const c of v.collections ?? []) addToCollection(c, def);
    if (v.regularizer) losses.push(regularizerNodes(g, v, v.regularizer));
  }

  const graphVariables = new Set(spec.graph.nodes.filter((n) => n.op === 'Variable').map((n) => n.name));
  for (const n of spec.graph.nodes) {
    if (n.op === 'Variable') {
      if (!byName.has(n.name)) throw new Error(`graph variable ${n.name} is not among the meta graph's variables`);
      continue;
    }
    g.nodes.push(...translateNode(n, (name) => graphVariables.has(name)));
  }

  g.add('init', 'NoOp', spec.variables.map((v) => `^${v.name}/Assign`));
  saverNodes(g, spec.variables);

  const collection_def: Record<string, CollectionDef> = {};
  for (const [key, value] of collections) collection_def[key] = { bytes_list: { value } };
  if (losses.length) collection_def.losses = { node_list: { value: losses } };

  return {
    meta_info_def: {
      stripped_op_list: strippedOpList(g.nodes.map((n) => n.op)),
      tensorflow_version: '1.15.0',
      tensorflow_git_version: 'mnist-ts',
    },
    graph_def: { node: g.nodes, versions: { producer: GRAPH_PRODUCER } },
    saver_def: {
      filename_tensor_name: 'save/Const:0',
      save_tensor_name: 'save/control_dependency:0',
      restore_op_name: 'save/restore_all',
      max_to_keep: spec.maxToKeep ?? SAVER_DEFAULTS.maxToKeep,
      keep_checkpoint_every_n_hours: spec.keepCheckpointEveryNHours ?? SAVER_DEFAULTS.keepCheckpointEveryNHours,
      version: 'V2',
    },
    collection_def,
  };
}

export function metaGraphBytes(spec: MetaGraphSpec): Uint8Array {
  return encodeMetaGraphDef(buildMetaGraph(spec));
}
