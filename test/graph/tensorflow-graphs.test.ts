import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { loadMnist } from '../../src/data/mnist.js';
import { bytesText, decodeGraphDef, decodeMetaGraphDef, decodeVariableDef } from '../../src/formats/graphdef.js';
import { restoreMetaGraph } from '../../src/graph/meta-import.js';
import { openGraph } from '../../src/graph/load.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';

const FROZEN = 'test/fixtures/pb_softmax_mnist/frozen_model.pb';
const META = 'test/fixtures/meta_v1_v2/model.ckpt.meta';

before(async () => {
  await tf.setBackend('cpu');
});

describe("TensorFlow's frozen softmax-regression graph (TF 1.8)", () => {
  it('decodes: 8 nodes, input placeholder [-1, 784], constants as weights', () => {
    const graph = decodeGraphDef(readFileSync(FROZEN), FROZEN);
    assert.deepEqual(graph.node.map((n) => `${n.name}:${n.op}`), [
      'input:Placeholder', 'Variable:Const', 'Variable/read:Identity', 'Variable_1:Const', 'Variable_1/read:Identity', 'MatMul:MatMul', 'add:Add', 'output:Identity',
    ]);
    assert.equal(graph.versions, undefined);
    const frozen = FrozenGraph.load(graph, FROZEN);
    assert.deepEqual(frozen.inputs, [{ name: 'input', dtype: 'DT_FLOAT', shape: [-1, 784] }]);
    assert.deepEqual(frozen.defaultOutputs, ['output:0']);
    frozen.dispose();
  });

  it('classifies the 10,000 MNIST test images: exactly 9,161 right (91.61%)', async () => {
    const { test } = loadMnist({});
    const frozen = FrozenGraph.load(decodeGraphDef(readFileSync(FROZEN), FROZEN), FROZEN);
    const x = tf.tensor2d(Float32Array.from(test.images, (v) => v / 255), [test.count, 784]);
    const [logits] = await frozen.run({ input: x }, ['output:0']);
    const predicted = tf.argMax(logits, 1).dataSync();
    let correct = 0;
    for (let i = 0; i < test.count; i++) if (predicted[i] === test.labels[i]) correct++;
    assert.equal(test.count, 10000);
    assert.equal(correct, 9161);
    tf.dispose([x, logits]);
    frozen.dispose();
  });
});

describe("TensorFlow's MetaGraphDef of the book's v1 + v2 (TF 1.0)", () => {
  it('decodes: 24 nodes, saver_def and collections as TensorFlow wrote them', () => {
    const meta = decodeMetaGraphDef(readFileSync(META), META);
    assert.equal(meta.graph_def!.node.length, 24);
    assert.equal(meta.graph_def!.versions!.producer, 21);
    assert.equal(meta.meta_info_def!.tensorflow_version, '1.0.0-rc2');
    assert.equal(meta.meta_info_def!.tensorflow_git_version, 'v1.0.0-rc1-102-g1536a84-dirty');
    assert.deepEqual(meta.meta_info_def!.stripped_op_list!.op.map((o) => o.name), ['Add', 'Assign', 'Const', 'Identity', 'NoOp', 'RestoreV2', 'SaveV2', 'VariableV2']);
    assert.deepEqual(meta.saver_def, {
      filename_tensor_name: 'save/Const:0',
      save_tensor_name: 'save/control_dependency:0',
      restore_op_name: 'save/restore_all',
      max_to_keep: 5,
      keep_checkpoint_every_n_hours: 10000,
      version: 'V2',
    });
    assert.deepEqual(Object.keys(meta.collection_def!).sort(), ['trainable_variables', 'variables']);
    const vars = meta.collection_def!.variables.bytes_list!.value.map((b) => decodeVariableDef(b));
    assert.deepEqual(vars, [
      { variable_name: 'v1:0', initializer_name: 'v1/Assign', snapshot_name: 'v1/read:0' },
      { variable_name: 'v2:0', initializer_name: 'v2/Assign', snapshot_name: 'v2/read:0' },
    ]);
    const names = meta.graph_def!.node.map((n) => n.name);
    assert.deepEqual(names.slice(0, 9), ['Const', 'v1', 'v1/Assign', 'v1/read', 'Const_1', 'v2', 'v2/Assign', 'v2/read', 'add']);
    const tensorNames = meta.graph_def!.node.find((n) => n.name === 'save/SaveV2/tensor_names')!;
    assert.deepEqual(tensorNames.attr!.value.tensor!.string_val!.map(bytesText), ['v1', 'v2']);
  });

  it('import_meta_graph + restore: fetching add:0 gives [3]', async () => {
    const graph = openGraph(META, { outputs: ['add:0'] });
    assert.deepEqual(graph.node.map((n) => `${n.name}:${n.op}`), ['v1:Const', 'v1/read:Identity', 'v2:Const', 'v2/read:Identity', 'add:Add']);
    const frozen = FrozenGraph.load(graph, META);
    const [add] = await frozen.run({}, ['add:0']);
    assert.deepEqual(Array.from(add.dataSync()), [3]);
    frozen.dispose();
  });

  it('renamed restore: v1 from the checkpoint\'s "v2" gives [4]', async () => {
    const meta = decodeMetaGraphDef(readFileSync(META), META);
    const reader = CheckpointReader.open('test/fixtures/meta_v1_v2/model.ckpt');
    const graph = restoreMetaGraph(meta, reader, { outputs: ['add'], rename: { v1: 'v2' }, file: META });
    const frozen = FrozenGraph.load(graph, META);
    const [add] = await frozen.run({}, ['add:0']);
    assert.deepEqual(Array.from(add.dataSync()), [4]);
    frozen.dispose();
    assert.throws(() => restoreMetaGraph(meta, reader, { outputs: ['add'], rename: { v1: 'missing' }, file: META }), /variable "v1" needs checkpoint tensor "missing"/);
  });
});

describe("TensorFlow's MetaGraphDef with tf.cond dropout and Adam (TF 1.10, 602 nodes)", () => {
  const HOUSE = 'test/fixtures/meta_houseprices/model.ckpt.meta';

  it('import_meta_graph + restore runs the prediction through Switch/Merge, matching the layers computed by hand', async () => {
    const meta = decodeMetaGraphDef(readFileSync(HOUSE), HOUSE);
    assert.equal(meta.graph_def!.node.length, 602);
    assert.equal(meta.meta_info_def!.tensorflow_version, '1.10.0');
    assert.deepEqual(Object.keys(meta.collection_def!).sort(), ['cond_context', 'train_op', 'trainable_variables', 'variables']);
    const graph = openGraph(HOUSE, { outputs: ['BiasAdd_4:0'] });
    assert.ok(graph.node.some((n) => n.op === 'Merge'));
    const frozen = FrozenGraph.load(graph, HOUSE);
    const reader = CheckpointReader.open('test/fixtures/meta_houseprices/model.ckpt');
    const x = tf.randomUniform([4, 8], 0, 1, 'float32', 2);
    const [prediction] = await frozen.run({ Placeholder: tf.scalar(false, 'bool'), Placeholder_1: x }, ['BiasAdd_4:0']);
    let h: tf.Tensor = x;
    for (let layer = 0; layer < 5; layer++) {
      const w = reader.tensor(layer === 0 ? 'Variable' : `Variable_${2 * layer}`);
      const b = reader.tensor(`Variable_${2 * layer + 1}`);
      h = tf.add(tf.matMul(h as tf.Tensor2D, tf.tensor2d(w.data as Float32Array, w.shape as [number, number])), tf.tensor1d(b.data as Float32Array));
      if (layer < 4) h = tf.tanh(h);
    }
    assert.deepEqual(prediction.shape, [4, 1]);
    const diff = tf.max(tf.abs(tf.sub(prediction, h))).dataSync()[0];
    assert.ok(diff < 1e-5, `max abs diff ${diff}`);
    frozen.dispose();
  });
});
