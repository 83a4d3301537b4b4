/**
 * The book §5.4: tf.train.Saver with our checkpoint modules — TensorFlow V2 checkpoints
 * (model.ckpt.index, model.ckpt.data-00000-of-00001, checkpoint) that TensorFlow itself can read.
 *   save v1 = 1, v2 = 2 → restore into fresh variables → v1 + v2 = [3.]
 *   restore a subset (Saver([v1])), restore under other names (Saver({"v1": other_v1, ...})),
 *   save an EMA shadow and load it into the plain variable (by name, then by variables_to_restore),
 *   and list a checkpoint like tf.train.NewCheckpointReader.
 * (Freezing variables into a GraphDef `.pb` is examples/persistence.ts.)
 *
 *   node --import tsx examples/save-restore.ts [DIR]     (default: a temporary directory)
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointReader } from '../src/checkpoint/reader.js';
import { Saver } from '../src/checkpoint/saver.js';
import { restoreVariables, tensorsToCheckpoint } from '../src/checkpoint/tf-variables.js';
import { ExponentialMovingAverage } from '../src/train/ema.js';
import { constant } from '../src/variables/initializers.js';
import { VariableStore, type VariableEntry } from '../src/variables/store.js';
import { runIfMain, type Print } from './lib/main.js';
import { numpyArray, pythonList } from './lib/numpy-print.js';
import { float32Repr } from '../src/util/float32-repr.js';

/** saver.save(sess, prefix) for these variables, under their TensorFlow names. */
async function save(prefix: string, variables: VariableEntry[] | Map<string, tf.Variable>): Promise<void> {
  const named = variables instanceof Map ? variables : new Map(variables.map((e) => [e.name, e.variable]));
  await new Saver().save(prefix, await tensorsToCheckpoint(named));
}

const sumOf = (a: tf.Variable, b: tf.Variable) => tf.tidy(() => tf.add(a, b).dataSync());

export async function run(print: Print, dir?: string): Promise<void> {
  const workDir = dir ?? mkdtempSync(path.join(tmpdir(), 'mnist-ts-save-restore-'));
  const prefix = path.join(workDir, 'model.ckpt');
  try {
    // Save: v1 = 1.0, v2 = 2.0.
    const g = new VariableStore();
    const [v1, v2] = [g.create('v1', [1], { initializer: constant(1.0) }), g.create('v2', [1], { initializer: constant(2.0) })];
    await save(prefix, [v1, v2]);
    print(readdirSync(workDir).sort().join(' '));
    g.dispose();

    // Restore into new variables (their own initial values are overwritten): result = [3.].
    const r = new VariableStore();
    const [r1, r2] = [r.create('v1', [1]), r.create('v2', [1])];
    restoreVariables(CheckpointReader.open(prefix), { v1: r1.variable, v2: r2.variable });
    print(numpyArray(sumOf(r1.variable, r2.variable), [1]));

    // Saver([v1]): only v1 is loaded; v2 keeps its value.
    r2.variable.assign(tf.tensor1d([10]));
    restoreVariables(CheckpointReader.open(prefix), { v1: r1.variable });
    print(numpyArray(sumOf(r1.variable, r2.variable), [1]));
    r.dispose();

    // Renaming: other-v1/other-v2 load the checkpoint's v1/v2.
    const o = new VariableStore();
    const [other1, other2] = [o.create('other-v1', [1], { initializer: constant(1.0) }), o.create('other-v2', [1], { initializer: constant(1.0) })];
    restoreVariables(CheckpointReader.open(prefix), { v1: other1.variable, v2: other2.variable });
    print(numpyArray(sumOf(other1.variable, other2.variable), [1]));
    o.dispose();

    // Save a variable with its moving average: v = 10, one EMA(0.99) update from 0 → 0.099999905.
    const emaPrefix = path.join(workDir, 'ema', 'model.ckpt');
    const e = new VariableStore();
    const v = e.create('v', []);
    const ema = new ExponentialMovingAverage(0.99);
    ema.createShadows([v]);
    for (const name of [v.name, ...ema.namedShadows().keys()]) print(`<tf.Variable '${name}:0' shape=() dtype=float32_ref>`);
    v.variable.assign(tf.scalar(10));
    ema.apply([v]);
    await save(emaPrefix, new Map([[v.name, v.variable], ...ema.namedShadows()]));
    print(pythonList([v.variable.dataSync()[0], ema.shadowOf(v).dataSync()[0]]));
    ema.dispose();
    e.dispose();

    // Load the shadow into v: by explicit name, then with variables_to_restore().
    const s = new VariableStore();
    const plain = s.create('v', []);
    restoreVariables(CheckpointReader.open(emaPrefix), { 'v/ExponentialMovingAverage': plain.variable });
    print(float32Repr(plain.variable.dataSync()[0]));
    plain.variable.assign(tf.scalar(0));
    restoreVariables(CheckpointReader.open(emaPrefix), ExponentialMovingAverage.variablesToRestore([plain]));
    print(float32Repr(plain.variable.dataSync()[0]));
    s.dispose();

    // tf.train.NewCheckpointReader: names with shapes, then one tensor.
    const reader = CheckpointReader.open(prefix);
    for (const [name, shape] of Object.entries(reader.variableToShapeMap())) print(`${name} [${shape.join(', ')}]`);
    const t = reader.tensor('v1');
    print(numpyArray(t.data as Float32Array, t.shape));
  } finally {
    if (!dir) rmSync(workDir, { recursive: true, force: true });
  }
}

await runIfMain(import.meta.url, (print) => run(print, process.argv[2]));
