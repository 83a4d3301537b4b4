import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { UserError } from '../../src/errors.js';
import { writeBundle } from '../../src/formats/bundle.js';
import { protoType } from '../../src/formats/protos.js';
import { describeSavedModel, isSavedModel, openSavedModelSignature, readSavedModel } from '../../src/graph/saved-model.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';
import { runCli } from '../helpers/cli.js';

const FIXTURES = path.join(import.meta.dirname, '../fixtures');
const HALF = path.join(FIXTURES, 'saved_model_half_plus_three');
const COUNTER = path.join(FIXTURES, 'saved_model_counter');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'saved-model-test-'));
const userError = (pattern: RegExp) => (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n');

async function run(dir: string, signature: string | undefined, feeds: Record<string, number[]>): Promise<Record<string, number[]>> {
  const opened = openSavedModelSignature(dir, { signature });
  const model = FrozenGraph.load(opened.graph, opened.model.file);
  try {
    const inputs = Object.fromEntries(opened.inputs.map((i) => [i.tensor, tf.tensor1d(feeds[i.key])]));
    const results = await model.run(inputs, opened.outputs.map((o) => o.tensor));
    const out = Object.fromEntries(opened.outputs.map((o, i) => [o.key, Array.from(results[i].dataSync())]));
    tf.dispose([...Object.values(inputs), ...results]);
    return out;
  } finally {
    model.dispose();
  }
}

test('TensorFlow Serving\'s half_plus_three: tag set, signatures, variables', () => {
  assert.ok(isSavedModel(HALF) && isSavedModel(path.join(HALF, 'saved_model.pb')));
  assert.ok(!isSavedModel(FIXTURES));
  const model = readSavedModel(HALF);
  assert.equal(model.schemaVersion, 1);
  assert.equal(model.metaGraphs.length, 1);
  assert.deepEqual(model.metaGraphs[0].meta_info_def?.tags, ['serve']);
  assert.deepEqual(Object.keys(model.metaGraphs[0].signature_def ?? {}).sort(), ['serving_default', 'tensorflow/serving/regress']);
  const lines = describeSavedModel(model);
  assert.ok(lines.includes('tags [serve]: 60 nodes, TensorFlow 1.0.0-rc2'), lines.join('\n'));
  assert.ok(lines.includes('    input x: x:0 float unknown'));
  assert.ok(lines.includes('    output y: y:0 float unknown'));
  assert.ok(lines.includes('  a  float32  []'));
});

test('serving_default computes y = a·x + b with the restored variables (a, b read independently)', async () => {
  const reader = CheckpointReader.open(path.join(HALF, 'variables/variables'));
  const a = (reader.tensor('a').data as Float32Array)[0];
  const b = (reader.tensor('b').data as Float32Array)[0];
  assert.deepEqual([a, b], [0.5, 3]);
  const x = [1, 2, 5, -4];
  const { y } = await run(HALF, undefined, { x });
  assert.deepEqual(y, x.map((v) => a * v + b));
});

test('the stateful counter: reading works, updating signatures are one-line errors', async () => {
  assert.deepEqual(await run(COUNTER, 'get_counter', {}), { output: [0] });
  assert.throws(() => openSavedModelSignature(COUNTER), userError(/saved_model\.pb: no signature "serving_default" in the \[serve\] graph \(signatures: .*get_counter/));
  assert.throws(() => openSavedModelSignature(COUNTER, { tags: ['train'] }), userError(/no MetaGraphDef tagged \[train\] \(tag sets here: \[serve\]/));
  const opened = openSavedModelSignature(COUNTER, { signature: 'incr_counter' });
  const model = FrozenGraph.load(opened.graph, opened.model.file);
  await assert.rejects(model.run({}, opened.outputs.map((o) => o.tensor)), userError(/op AssignAdd \(node "incr_counter_op\/AssignAdd"\) is not supported/));
  model.dispose();
});

/** A SavedModel of our own making: y = x · w with `w` a resource variable (or a TF 2 function call). */
function resourceModel(dir: string, tf2 = false): void {
  const f = { type: 'DT_FLOAT' };
  const node = [
    { name: 'x', op: 'Placeholder', attr: { dtype: f, shape: { shape: { dim: [{ size: -1 }] } } } },
    { name: 'w', op: 'VarHandleOp', attr: { dtype: f, shape: { shape: {} }, shared_name: { s: Buffer.from('w') } } },
    { name: 'w/Read/ReadVariableOp', op: 'ReadVariableOp', input: ['w'], attr: { dtype: f } },
    tf2
      ? { name: 'y', op: 'StatefulPartitionedCall', input: ['x', 'w'], attr: { f: { func: { name: 'times_w' } }, Tin: { list: { type: ['DT_FLOAT', 'DT_RESOURCE'] } }, Tout: { list: { type: ['DT_FLOAT'] } } } }
      : { name: 'y', op: 'Mul', input: ['x', 'w/Read/ReadVariableOp'], attr: { T: f } },
  ];
  // The TF 2 form: y calls a library function that reads the captured variable itself.
  const library = {
    function: [
      {
        signature: { name: 'times_w', input_arg: [{ name: 'x', type: 'DT_FLOAT' }, { name: 'w_resource', type: 'DT_RESOURCE' }], output_arg: [{ name: 'y', type: 'DT_FLOAT' }] },
        node_def: [
          { name: 'read', op: 'ReadVariableOp', input: ['w_resource'], attr: { dtype: f } },
          { name: 'mul', op: 'Mul', input: ['x', 'read:value:0'], attr: { T: f } },
        ],
        ret: { y: 'mul:z:0' },
      },
    ],
  };
  const signature = { inputs: { x: { name: 'x:0', dtype: 'DT_FLOAT' } }, outputs: { y: { name: 'y:0', dtype: 'DT_FLOAT' } }, method_name: 'tensorflow/serving/predict' };
  const T = protoType('tensorflow.SavedModel');
  const bytes = T.encode(T.fromObject({ saved_model_schema_version: 1, meta_graphs: [{ meta_info_def: { tags: ['serve'] }, graph_def: { node, library: tf2 ? library : undefined }, signature_def: { serving_default: signature } }] })).finish();
  mkdirSync(path.join(dir, 'variables'), { recursive: true });
  writeFileSync(path.join(dir, 'saved_model.pb'), bytes);
  const bundle = writeBundle([['w', { dtype: 'float32', shape: [], data: Float32Array.of(2.5) }]]);
  writeFileSync(path.join(dir, 'variables/variables.index'), bundle.index);
  writeFileSync(path.join(dir, 'variables/variables.data-00000-of-00001'), bundle.data);
}

test('resource variables (VarHandleOp read by ReadVariableOp) are restored, also when a TF 2 function reads them', async () => {
  const dir = tmp();
  resourceModel(dir);
  assert.deepEqual(await run(dir, undefined, { x: [1, 2] }), { y: [2.5, 5] });
  const tf2 = tmp();
  resourceModel(tf2, true);
  assert.deepEqual(await run(tf2, undefined, { x: [1, 2] }), { y: [2.5, 5] });
});

test('a directory that is not a SavedModel, a broken saved_model.pb and missing variables are one-line errors', () => {
  const dir = tmp();
  assert.throws(() => readSavedModel(dir), userError(/not a SavedModel directory \(no saved_model\.pb\)/));
  writeFileSync(path.join(dir, 'saved_model.pb'), 'garbage, not a protobuf at all \xff\xff\xff');
  assert.throws(() => readSavedModel(dir), userError(/saved_model\.pb: not a SavedModel/));
  const noVars = tmp();
  resourceModel(noVars);
  writeFileSync(path.join(noVars, 'variables/variables.index'), '');
  assert.throws(() => openSavedModelSignature(noVars), (e: unknown) => e instanceof UserError);
});

test('CLI: run-graph prints outputs by signature key; inspect lists the SavedModel; bad keys are one line', () => {
  const dir = tmp();
  writeFileSync(path.join(dir, 'x.json'), '[1, 2, 5]');
  let r = runCli(['run-graph', HALF, '--input', `x=${path.join(dir, 'x.json')}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'y float32[3] [3.5,4,5.5]');
  r = runCli(['run-graph', HALF, '--input', `nope=${path.join(dir, 'x.json')}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^error: .*saved_model\.pb: signature "serving_default" has no input "nope" \(inputs: x\)$/m);
  r = runCli(['inspect', COUNTER]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /signature "incr_counter_by" \(tensorflow\/serving\/predict\):\n {4}input delta: delta:0 float unknown\n {4}output output: incr_counter_by_op\/AssignAdd:0 float_ref \[\]/);
  assert.match(r.stdout, /^ {2}counter {2}float32 {2}\[\]$/m);
});
