import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { loadMnist } from '../../src/data/mnist.js';
import { readSavedModel } from '../../src/graph/saved-model.js';
import { runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'mnist-savedmodel-'));
const modelDir = path.join(work, 'softmax');
const exportDir = path.join(work, 'export', '1');

test('export --format savedmodel: tag serve, serving_default, the saver TensorFlow\'s loader runs, EMA values in variables/', () => {
  let r = runCli(['train', '--model', 'softmax', '--model-dir', modelDir, '--steps', '30', '--limit', '1000', '--ema', '0.9', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  r = runCli(['export', '--format', 'savedmodel', '--model-dir', modelDir, '-o', exportDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Wrote SavedModel .* the moving averages of model\.ckpt-30/);
  const model = readSavedModel(exportDir);
  assert.equal(model.schemaVersion, 1);
  const [meta] = model.metaGraphs;
  assert.deepEqual(meta.meta_info_def?.tags, ['serve']);
  // loader_impl: import_meta_graph + Saver(saver_def).restore(sess, "variables/variables").
  assert.deepEqual(
    { filename: meta.saver_def?.filename_tensor_name, restore: meta.saver_def?.restore_op_name, version: meta.saver_def?.version },
    { filename: 'save/Const:0', restore: 'save/restore_all', version: 'V2' },
  );
  const nodes = new Map(meta.graph_def!.node.map((n) => [n.name, n]));
  for (const n of ['save/Const', 'save/restore_all', 'init', 'x-input', 'probabilities', 'classes']) assert.ok(nodes.has(n), n);
  const signature = meta.signature_def?.serving_default;
  assert.equal(signature?.method_name, 'tensorflow/serving/predict');
  assert.deepEqual(Object.keys(signature?.inputs ?? {}), ['images']);
  assert.deepEqual(Object.keys(signature?.outputs ?? {}).sort(), ['classes', 'probabilities']);
  assert.equal(signature?.outputs?.classes.dtype, 'DT_INT64');
  // The variables are the checkpoint's moving averages, under the variables' own names.
  const variables = CheckpointReader.open(path.join(exportDir, 'variables', 'variables'));
  const checkpoint = CheckpointReader.open(modelDir);
  assert.deepEqual(variables.names(), ['W', 'b']);
  for (const name of variables.names()) {
    assert.equal(nodes.get(name)?.op, 'VariableV2');
    assert.deepEqual(Array.from(variables.tensor(name).data as Float32Array), Array.from(checkpoint.tensor(`${name}/ExponentialMovingAverage`).data as Float32Array));
  }
  r = runCli(['export', '--format', 'savedmodel', '--model-dir', modelDir, '-o', exportDir]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^error: .*export[/\\]1: export directory already exists and is not empty/m);
});

test('round trip: run-graph and predict --graph on the export give what predict gives from the checkpoint', async () => {
  const { test: testSplit } = loadMnist({ limit: 10 });
  const files: string[] = [];
  for (const i of [0, 1, 2]) {
    const file = path.join(work, `digit-${i}.png`);
    await sharp(Buffer.from(testSplit.images.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(file);
    files.push(file);
  }
  const parse = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as { digit: number; probabilities: number[] });
  let r = runCli(['predict', '--model-dir', modelDir, '--json', ...files]);
  assert.equal(r.code, 0, r.stderr);
  const fromCheckpoint = parse(r.stdout);
  r = runCli(['predict', '--graph', exportDir, '--json', ...files]);
  assert.equal(r.code, 0, r.stderr);
  const fromExport = parse(r.stdout);
  r = runCli(['run-graph', exportDir, '--input', `images=${files.join(',')}`, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const outputs = JSON.parse(r.stdout) as { probabilities: { values: number[][] }; classes: { values: number[] } };
  for (let i = 0; i < files.length; i++) {
    assert.equal(fromExport[i].digit, fromCheckpoint[i].digit);
    assert.equal(outputs.classes.values[i], fromCheckpoint[i].digit);
    fromCheckpoint[i].probabilities.forEach((p, k) => {
      assert.ok(Math.abs(fromExport[i].probabilities[k] - p) < 1e-5, `image ${i} class ${k}`);
      assert.ok(Math.abs(outputs.probabilities.values[i][k] - p) < 1e-5, `image ${i} class ${k}`);
    });
  }
});
