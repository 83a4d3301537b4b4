import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Saver } from '../../src/checkpoint/saver.js';
import { bytesText, decodeMetaGraphDef, decodeVariableDef, encodeVariableDef } from '../../src/formats/graphdef.js';
import { openGraph } from '../../src/graph/load.js';
import { modelMetaGraph } from '../../src/graph/model-metagraph.js';
import { hasOpDef } from '../../src/graph/op-defs.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import { createOptimizer } from '../../src/train/optimizers.js';
import { GLOBAL_STEP, saveTrainingCheckpoint } from '../../src/checkpoint/global-step.js';
import { trainingState } from '../../src/train/train.js';
import { l2Regularizer } from '../../src/variables/regularizers.js';

before(async () => {
  await tf.setBackend('cpu');
});

function trainingRun(optimizer: 'sgd' | 'adam') {
  const model = Model.build(getModelDefinition('mlp'), { seed: 2, regularizer: l2Regularizer(1e-4) });
  const ema = new ExponentialMovingAverage(0.99);
  ema.createShadows(model.store.trainable());
  const opt = createOptimizer(optimizer, { momentum: 0.9 });
  opt.createSlots(model.store.trainable());
  return { model, ema, opt, state: trainingState(model, ema, opt) };
}

describe('MetaGraphDef writer (model.ckpt-N.meta)', () => {
  it('encodes a VariableDef byte for byte as TensorFlow (seed 003, the TF 1.0 fixture)', () => {
    const tfBytes = decodeMetaGraphDef(readFileSync('test/fixtures/meta_v1_v2/model.ckpt.meta'), 'v1v2.meta').collection_def!.variables.bytes_list!.value[0];
    const ours = encodeVariableDef({ variable_name: 'v1:0', initializer_name: 'v1/Assign', snapshot_name: 'v1/read:0' });
    assert.deepEqual(Buffer.from(ours), Buffer.from(tfBytes));
    assert.equal(Buffer.from(ours).toString('latin1'), '\n\x04v1:0\x12\tv1/Assign\x1a\tv1/read:0');
  });

  it("decodes back with seed 003's saver_def, the collections and TensorFlow's variable nodes", () => {
    const { model, state } = trainingRun('adam');
    const meta = decodeMetaGraphDef(modelMetaGraph(model, state, { globalStep: GLOBAL_STEP }), 'ours.meta');
    assert.deepEqual(meta.saver_def, {
      filename_tensor_name: 'save/Const:0',
      save_tensor_name: 'save/control_dependency:0',
      restore_op_name: 'save/restore_all',
      max_to_keep: 5,
      keep_checkpoint_every_n_hours: 10000,
      version: 'V2',
    });
    const collections = meta.collection_def!;
    const names = (key: string) => collections[key].bytes_list!.value.map((b) => decodeVariableDef(b).variable_name);
    assert.deepEqual(names('trainable_variables'), ['layer1/weights:0', 'layer1/biases:0', 'layer2/weights:0', 'layer2/biases:0']);
    assert.deepEqual(names('moving_average_variables'), names('trainable_variables'));
    assert.deepEqual(names('global_step'), ['global_step:0']);
    assert.equal(names('variables').length, state.size + 1);
    assert.ok(names('variables').includes('layer1/weights/ExponentialMovingAverage:0'));
    assert.ok(names('variables').includes('layer2/biases/Adam_1:0'));
    assert.deepEqual(collections.losses.node_list!.value, ['layer1/l2_regularizer:0', 'layer2/l2_regularizer:0']);
    assert.deepEqual(decodeVariableDef(collections.trainable_variables.bytes_list!.value[0]), {
      variable_name: 'layer1/weights:0',
      initializer_name: 'layer1/weights/Assign',
      snapshot_name: 'layer1/weights/read:0',
      initial_value_name: 'layer1/weights/Initializer/truncated_normal:0',
    });

    const byName = new Map(meta.graph_def!.node.map((n) => [n.name, n]));
    assert.equal(byName.get('layer1/weights')!.op, 'VariableV2');
    assert.deepEqual(byName.get('layer1/weights/Assign')!.input, ['layer1/weights', 'layer1/weights/Initializer/truncated_normal']);
    assert.equal(byName.get('layer1/weights/Initializer/truncated_normal/TruncatedNormal')!.op, 'TruncatedNormal');
    assert.deepEqual(byName.get('layer1/MatMul')!.input, ['x-input', 'layer1/weights/read']);
    assert.equal(byName.get('global_step')!.attr!.dtype.type, 'DT_INT64');
    assert.equal(byName.get('save/SaveV2')!.input!.length, 3 + state.size + 1);
    const saved = byName.get('save/SaveV2/tensor_names')!.attr!.value.tensor!.string_val!.map(bytesText);
    assert.deepEqual(saved, [...saved].sort());
    assert.equal(byName.get('save/restore_all')!.input!.length, state.size + 1);
    assert.deepEqual(
      meta.meta_info_def!.stripped_op_list!.op.map((o) => o.name),
      ['Add', 'Assign', 'Const', 'Identity', 'L2Loss', 'MatMul', 'Mul', 'NoOp', 'Placeholder', 'Relu', 'RestoreV2', 'SaveV2', 'TruncatedNormal', 'VariableV2'],
    );
  });

  it('is written beside each checkpoint and restores into a runnable graph (raw and EMA values)', async () => {
    const { model, ema, opt, state } = trainingRun('sgd');
    // Make the shadows differ from the variables, as after training.
    for (const v of model.store.trainable()) v.variable.assign(tf.add(v.variable, 0.05));
    ema.apply(model.store.trainable(), 3);
    const dir = mkdtempSync(path.join(tmpdir(), 'metagraph-'));
    const metaBytes = modelMetaGraph(model, state, { globalStep: GLOBAL_STEP });
    const prefix = await saveTrainingCheckpoint(new Saver(), dir, state, 7, metaBytes);
    assert.deepEqual(readFileSync(`${prefix}.meta`), Buffer.from(metaBytes));

    const x = tf.randomUniform([4, 784], 0, 1, 'float32', 3) as tf.Tensor2D;
    for (const useEma of [false, true]) {
      const graph = openGraph(`${prefix}.meta`, { outputs: ['layer2/add:0'], useEma });
      const frozen = FrozenGraph.load(graph, `${prefix}.meta`);
      const [logits] = await frozen.run({ 'x-input': x }, ['layer2/add:0']);
      if (useEma) for (const v of model.store.trainable()) v.variable.assign(ema.shadowOf(v));
      const diff = tf.max(tf.abs(tf.sub(logits, model.logits(x)))).dataSync()[0];
      assert.ok(diff < 1e-5, `${useEma ? 'EMA' : 'raw'}: max abs diff ${diff}`);
      frozen.dispose();
    }
    opt.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('OpDefs for the stripped op list', () => {
  it('cover every op our graphs and meta graphs write', () => {
    const ops = ['Placeholder', 'Const', 'Identity', 'MatMul', 'Add', 'BiasAdd', 'Relu', 'Tanh', 'Sigmoid', 'Softmax', 'Conv2D', 'MaxPool', 'AvgPool', 'Reshape', 'Pad', 'ConcatV2',
      'VariableV2', 'Assign', 'NoOp', 'SaveV2', 'RestoreV2', 'TruncatedNormal', 'RandomStandardNormal', 'Mul', 'L2Loss', 'Abs', 'Sum'];
    assert.deepEqual(ops.filter((op) => !hasOpDef(op)), []);
  });
});
