/**
 * The book §5.4, graphs: what tf.train.Saver writes besides the variables (`model.ckpt.meta`, a
 * MetaGraphDef), `import_meta_graph` + `restore`, and `convert_variables_to_constants` into one
 * GraphDef file that is loaded back and run — all in TensorFlow's own file formats, run by
 * TensorFlow.js's graph executor.
 *   v1 = 1.0, v2 = 2.0, add = v1 + v2: save → import_meta_graph + restore → add:0 = [3.]
 *   freeze into combined_model.pb → ParseFromString + import_graph_def → [array([3.], dtype=float32)]
 *   renamed restore: a graph with other-v1, other-v2 restored from v1, v2 → [3.]
 *   EMA restore: y = Identity(v) with v restored from v/ExponentialMovingAverage → 0.099999905
 * (Plain variable save/restore is examples/save-restore.ts.)
 *
 *   node --import tsx examples/persistence.ts [DIR]     (default: a temporary directory)
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Saver } from '../src/checkpoint/saver.js';
import { tensorsToCheckpoint } from '../src/checkpoint/tf-variables.js';
import { decodeGraphDef, encodeGraphDef, type GraphDef } from '../src/formats/graphdef.js';
import { freezeWithStore } from '../src/graph/freeze.js';
import { openGraph } from '../src/graph/load.js';
import { metaGraphBytes } from '../src/graph/metagraph.js';
import { metaVariable } from '../src/graph/model-metagraph.js';
import { FrozenGraph } from '../src/graph/tfjs-model.js';
import { GraphBuilder } from '../src/models/graph.js';
import { ExponentialMovingAverage } from '../src/train/ema.js';
import { constant } from '../src/variables/initializers.js';
import { VariableStore } from '../src/variables/store.js';
import { runIfMain, type Print } from './lib/main.js';
import { numpyArray } from './lib/numpy-print.js';
import { float32Repr } from '../src/util/float32-repr.js';

/** sess.run(tensor) on a frozen graph. */
async function fetch(graph: GraphDef, file: string, tensor: string): Promise<Float32Array> {
  const frozen = FrozenGraph.load(graph, file);
  try {
    const [value] = await frozen.run({}, [tensor]);
    const data = value.dataSync() as Float32Array;
    value.dispose();
    return data;
  } finally {
    frozen.dispose();
  }
}

/** v1 = tf.Variable(tf.constant(1.0, shape=[1]), name='v1') … result = v1 + v2, under the given names. */
function v1PlusV2(names: [string, string]) {
  const store = new VariableStore();
  const b = new GraphBuilder(store);
  const v1 = b.variable(names[0], [1], { initializer: constant(1.0) });
  const v2 = b.variable(names[1], [1], { initializer: constant(2.0) });
  const add = b.add2(v1, v2);
  return { store, graph: b.graph, add };
}

/** saver.save(sess, prefix): the checkpoint and its `.meta`. */
async function save(prefix: string, store: VariableStore, graph: GraphBuilder['graph'], extra = new Map<string, tf.Variable>()): Promise<void> {
  const variables = store.all().map(metaVariable);
  for (const [name, v] of extra) variables.push({ name, shape: [...v.shape], dtype: 'float32', trainable: false, initialValueOf: name.replace(/\/ExponentialMovingAverage$/, '') });
  const tensors = new Map<string, tf.Tensor>([...store.all().map((e): [string, tf.Tensor] => [e.name, e.variable]), ...extra]);
  await new Saver().save(prefix, await tensorsToCheckpoint(tensors), { metaGraph: metaGraphBytes({ graph, variables }) });
}

export async function run(print: Print, dir?: string): Promise<void> {
  const workDir = dir ?? mkdtempSync(path.join(tmpdir(), 'mnist-ts-persistence-'));
  const prefix = path.join(workDir, 'model.ckpt');
  try {
    // saver.save(sess, 'model.ckpt'): the variables and the graph (model.ckpt.meta).
    const { store, graph, add } = v1PlusV2(['v1', 'v2']);
    await save(prefix, store, graph);
    print(readdirSync(workDir).sort().join(' '));

    // saver = tf.train.import_meta_graph('model.ckpt.meta'); saver.restore(sess, 'model.ckpt')
    // print(sess.run(tf.get_default_graph().get_tensor_by_name('add:0')))
    print(numpyArray(await fetch(openGraph(`${prefix}.meta`, { outputs: [`${add}:0`] }), `${prefix}.meta`, `${add}:0`), [1]));

    // graph_util.convert_variables_to_constants(sess, graph_def, ['add']) → combined_model.pb
    const frozen = freezeWithStore(graph, store, [add]);
    const converted = frozen.node.filter((n) => n.op === 'Const').length;
    print(`Converted ${converted} variables to const ops.`);
    const pb = path.join(workDir, 'combined_model.pb');
    writeFileSync(pb, encodeGraphDef(frozen));
    store.dispose();

    // graph_def.ParseFromString(f.read()); tf.import_graph_def(graph_def, return_elements=['add:0'])
    const loaded = decodeGraphDef(readFileSync(pb), pb);
    print(`[array(${numpyArray(await fetch(loaded, pb, 'add:0'), [1])}, dtype=float32)]`);

    // Renamed restore — tf.train.Saver({"v1": other_v1, "v2": other_v2}) — on another program's graph.
    const other = v1PlusV2(['other-v1', 'other-v2']);
    const otherPrefix = path.join(workDir, 'other', 'model.ckpt');
    await save(otherPrefix, other.store, other.graph);
    const renamed = openGraph(`${otherPrefix}.meta`, { outputs: [other.add], checkpoint: prefix, rename: { 'other-v1': 'v1', 'other-v2': 'v2' } });
    print(numpyArray(await fetch(renamed, `${otherPrefix}.meta`, `${other.add}:0`), [1]));
    other.store.dispose();

    // EMA restore: v = 10 after one moving-average step, saved with its shadow; the graph reads
    // v restored from v/ExponentialMovingAverage (Saver({'v/ExponentialMovingAverage': v})).
    const e = new VariableStore();
    const b = new GraphBuilder(e);
    const y = b.identity(b.variable('v', []), 'y');
    const v = e.get('v')!;
    const ema = new ExponentialMovingAverage(0.99);
    ema.createShadows([v]);
    v.variable.assign(tf.scalar(10));
    ema.apply([v]);
    const emaPrefix = path.join(workDir, 'ema', 'model.ckpt');
    await save(emaPrefix, e, b.graph, ema.namedShadows());
    const averaged = openGraph(`${emaPrefix}.meta`, { outputs: [y], useEma: true });
    print(float32Repr((await fetch(averaged, `${emaPrefix}.meta`, `${y}:0`))[0]));
    ema.dispose();
    e.dispose();
  } finally {
    if (!dir) rmSync(workDir, { recursive: true, force: true });
  }
}

await runIfMain(import.meta.url, (print) => run(print, process.argv[2]));
