import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { attrString, bytesText, decodeGraphDef, encodeGraphDef, tensorFromProto, type GraphDef } from '../../src/formats/graphdef.js';
import { freezeModel, freezeWithStore } from '../../src/graph/freeze.js';
import { execute } from '../../src/models/execute.js';
import { GraphBuilder } from '../../src/models/graph.js';
import { VariableStore } from '../../src/variables/store.js';
import { truncatedNormal } from '../../src/variables/initializers.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition, modelNames } from '../../src/models/registry.js';
import { Random } from '../../src/util/random.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** Deterministic digit-like inputs in [0, 1]. */
function inputs(n: number): tf.Tensor2D {
  const random = new Random(7);
  return tf.tensor2d(Float32Array.from({ length: n * 784 }, () => (random.next() < 0.2 ? random.next() : 0)), [n, 784]);
}

function node(graph: GraphDef, name: string) {
  const found = graph.node.find((n) => n.name === name);
  assert.ok(found, `no node ${name}`);
  return found;
}

describe('freeze → GraphDef bytes → TensorFlow.js graph executor', () => {
  for (const name of modelNames()) {
    it(`${name}: same logits as the model itself (max abs diff < 1e-5)`, async () => {
      const model = Model.build(getModelDefinition(name), { seed: 5 });
      // Trained-looking values everywhere (some models start with zero weights or biases).
      model.store.all().forEach((v, i) => {
        const values = tf.randomNormal(v.shape, 0, 0.1, 'float32', 100 + i);
        v.variable.assign(v.name.endsWith('moving_variance') ? tf.add(tf.abs(values), 0.5) : values);
      });
      const graph = decodeGraphDef(encodeGraphDef(freezeModel(model)), `${name}.pb`);
      assert.ok(!graph.node.some((n) => n.op === 'Variable' || n.op === 'Dropout' || n.op === 'VariableV2'));
      const frozen = FrozenGraph.load(graph, `${name}.pb`);
      const x = inputs(8);
      const [logits, probabilities] = await frozen.run({ 'x-input': x }, [`${model.output}:0`, 'probabilities:0']);
      const expected = model.logits(x);
      const diff = tf.max(tf.abs(tf.sub(logits, expected))).dataSync()[0];
      assert.ok(diff < 1e-5, `max abs diff ${diff}`);
      assert.ok(tf.max(tf.abs(expected)).dataSync()[0] > 0, 'logits are not all zero');
      const probDiff = tf.max(tf.abs(tf.sub(probabilities, tf.softmax(expected)))).dataSync()[0];
      assert.ok(probDiff < 1e-6, `probabilities differ by ${probDiff}`);
      tf.dispose([x, logits, probabilities, expected]);
      frozen.dispose();
      model.dispose();
    });
  }

  it("uses TensorFlow's op names, attributes and the book's node names (mlp)", () => {
    const model = Model.build(getModelDefinition('mlp'), { seed: 1 });
    const graph = freezeModel(model);
    const input = node(graph, 'x-input');
    assert.equal(input.op, 'Placeholder');
    assert.equal(input.attr!.dtype.type, 'DT_FLOAT');
    assert.deepEqual(input.attr!.shape.shape!.dim!.map((d) => d.size), [-1, 784]);
    const weights = node(graph, 'layer1/weights');
    assert.equal(weights.op, 'Const');
    const value = tensorFromProto(weights.attr!.value.tensor!, 'layer1/weights');
    assert.deepEqual(value.shape, [784, 500]);
    assert.equal(weights.attr!.value.tensor!.tensor_content!.length, 784 * 500 * 4);
    assert.deepEqual(Array.from(value.data as Float32Array).slice(0, 5), Array.from(model.store.get('layer1/weights')!.variable.dataSync()).slice(0, 5));
    assert.deepEqual(node(graph, 'layer1/weights/read').input, ['layer1/weights']);
    const matmul = node(graph, 'layer1/MatMul');
    assert.deepEqual(matmul.input, ['x-input', 'layer1/weights/read']);
    assert.equal(matmul.attr!.transpose_a.b, false);
    assert.equal(matmul.attr!.transpose_b.b, false);
    assert.equal(matmul.attr!.T.type, 'DT_FLOAT');
    assert.deepEqual(node(graph, 'layer2/add').input, ['layer2/MatMul', 'layer2/biases/read']);
    assert.equal(node(graph, 'probabilities').op, 'Softmax');
    assert.ok(graph.versions!.producer! > 0);
  });

  it('writes Conv2D/MaxPool/Reshape with their TensorFlow attributes (book-cnn)', () => {
    const model = Model.build(getModelDefinition('book-cnn'), { seed: 1 });
    const graph = freezeModel(model);
    const conv = graph.node.find((n) => n.op === 'Conv2D')!;
    assert.deepEqual(conv.attr!.strides.list!.i, [1, 1, 1, 1]);
    assert.equal(attrString(conv.attr!.padding), 'SAME');
    assert.equal(attrString(conv.attr!.data_format), 'NHWC');
    assert.equal(conv.attr!.use_cudnn_on_gpu.b, true);
    assert.deepEqual(conv.attr!.dilations.list!.i, [1, 1, 1, 1]);
    const pool = graph.node.find((n) => n.op === 'MaxPool')!;
    assert.deepEqual(pool.attr!.ksize.list!.i, [1, 2, 2, 1]);
    const reshape = graph.node.find((n) => n.op === 'Reshape')!;
    const shapeConst = node(graph, reshape.input![1]);
    assert.equal(shapeConst.op, 'Const');
    assert.deepEqual(Array.from(tensorFromProto(shapeConst.attr!.value.tensor!, 'shape').data as Int32Array), [-1, 28, 28, 1]);
    assert.equal(reshape.attr!.Tshape.type, 'DT_INT32');
    // Dropout is training-only: an Identity in the frozen graph.
    const dropout = graph.node.find((n) => n.name.endsWith('dropout'));
    if (dropout) assert.equal(dropout.op, 'Identity');
  });

  it('every op of our graphs (Pad, ConcatV2, AvgPool, Tanh, Sigmoid, BiasAdd, dropout) runs the same after freezing', async () => {
    const store = new VariableStore(3);
    const b = new GraphBuilder(store);
    const x = b.placeholder('x', [null, 36]);
    const image = b.pad(b.reshape(x, [-1, 6, 6, 1]), [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const w = b.variable('w', [3, 3, 1, 4], { initializer: truncatedNormal(0.5) });
    const bias = b.variable('bias', [4], { initializer: truncatedNormal(0.5) });
    const conv = b.biasAdd(b.conv2d(image, w, [2, 2], 'VALID'), bias);
    const pooled = b.avgPool(b.tanh(conv), [2, 2], [1, 1], 'SAME');
    const joined = b.concat([b.sigmoid(pooled), b.relu(pooled)], 3);
    const out = b.identity(b.dropout(b.reshape(joined, [-1, 72]), 0.5), 'out');
    const graph = decodeGraphDef(encodeGraphDef(freezeWithStore(b.graph, store, [out])), 'ops.pb');
    assert.deepEqual(node(graph, 'concat').input, ['Sigmoid', 'Relu', 'concat/axis']);
    assert.equal(node(graph, 'concat').attr!.N.i, 2);
    assert.deepEqual(Array.from(tensorFromProto(node(graph, 'Pad/paddings').attr!.value.tensor!, 'paddings').data as Int32Array), [0, 0, 1, 1, 1, 1, 0, 0]);
    const frozen = FrozenGraph.load(graph, 'ops.pb');
    const input = tf.randomUniform([3, 36], 0, 1, 'float32', 9);
    const [actual] = await frozen.run({ x: input }, ['out:0']);
    const [expected] = execute(b.graph, { x: input }, [out], { variable: (name) => store.get(name)!.variable });
    assert.deepEqual(actual.shape, [3, 72]);
    const diff = tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0];
    assert.ok(diff < 1e-6, `max abs diff ${diff}`);
    frozen.dispose();
    store.dispose();
  });

  it('keeps only what the output node needs', () => {
    const model = Model.build(getModelDefinition('mlp'), { seed: 1 });
    const graph = freezeModel(model, { outputs: ['layer1/Relu'] });
    assert.deepEqual(graph.node.map((n) => n.name), ['x-input', 'layer1/weights', 'layer1/weights/read', 'layer1/biases', 'layer1/biases/read', 'layer1/MatMul', 'layer1/add', 'layer1/Relu']);
    assert.throws(() => freezeModel(model, { outputs: ['nope'] }), /no node named "nope"/);
  });

  it('encodes string constants and shapes as TensorFlow does', () => {
    const model = Model.build(getModelDefinition('softmax'), { seed: 1 });
    const graph = decodeGraphDef(encodeGraphDef(freezeModel(model)), 'softmax.pb');
    assert.deepEqual(graph.node.map((n) => `${n.name}:${n.op}`), ['x-input:Placeholder', 'W:Const', 'W/read:Identity', 'b:Const', 'b/read:Identity', 'MatMul:MatMul', 'add:Add', 'probabilities:Softmax']);
    assert.equal(bytesText(node(graph, 'W/read').attr!._class.list!.s![0]), 'loc:@W');
  });
});
