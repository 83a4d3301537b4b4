/**
 * The book's `tf.train.import_meta_graph(...)` followed by `saver.restore(sess, prefix)`, for
 * inference: the MetaGraphDef's graph, pruned to the requested outputs, with each variable
 * (`VariableV2`) replaced by a constant holding its checkpoint value. The result is a frozen
 * GraphDef that `FrozenGraph` runs.
 */
import type { CheckpointReader } from '../checkpoint/reader.js';
import { fileError, quoted } from '../errors.js';
import { pruneGraphDef, tensorProto, type GraphDef, type MetaGraphDef, type NodeDef } from '../formats/graphdef.js';

const VARIABLE_OPS = new Set(['VariableV2', 'Variable']);
const EMA_SUFFIX = '/ExponentialMovingAverage';

export interface RestoreGraphOptions {
  /** Nodes or tensors to keep (`add`, `add:0`). */
  outputs: string[];
  /** Renamed restore: variable node name → checkpoint key (TF's Saver({"v1": other})). */
  rename?: Record<string, string>;
  /** Restore each variable from its `NAME/ExponentialMovingAverage` shadow where the checkpoint has one. */
  useEma?: boolean;
  /** The `.meta` file, for messages. */
  file: string;
}

/** The checkpoint key each variable of the pruned graph restores from. */
export function checkpointKeyFor(variable: string, reader: CheckpointReader, options: Pick<RestoreGraphOptions, 'rename' | 'useEma'>): string {
  const renamed = options.rename?.[variable];
  if (renamed !== undefined) return renamed;
  if (options.useEma && reader.has(variable + EMA_SUFFIX)) return variable + EMA_SUFFIX;
  return variable;
}

/** import_meta_graph + restore → a frozen GraphDef of what `outputs` need. */
export function restoreMetaGraph(meta: MetaGraphDef, reader: CheckpointReader, options: RestoreGraphOptions): GraphDef {
  const graph = meta.graph_def;
  if (!graph) throw fileError(options.file, 'MetaGraphDef has no graph_def');
  const pruned = pruneGraphDef(graph, options.outputs, options.file);
  const node = pruned.node.map((n): NodeDef => {
    if (n.op === 'VarHandleOp') throw fileError(options.file, `node ${quoted(n.name)} is a resource variable (VarHandleOp), which is not supported`);
    if (!VARIABLE_OPS.has(n.op)) return n;
    const key = checkpointKeyFor(n.name, reader, options);
    if (!reader.has(key)) throw fileError(reader.prefix, `variable ${quoted(n.name)} needs checkpoint tensor ${quoted(key)}, which is not in the checkpoint`);
    const value = reader.tensor(key);
    return { name: n.name, op: 'Const', input: [], attr: { dtype: { type: n.attr?.dtype?.type ?? 'DT_FLOAT' }, value: { tensor: tensorProto(value) } } };
  });
  return { node, versions: graph.versions };
}
