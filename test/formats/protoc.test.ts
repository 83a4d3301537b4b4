/**
 * What we write for TensorFlow, read by a decoder that is not ours: Google's protoc
 * (`protoc --decode=tensorflow.GraphDef` …, Debian's protobuf-compiler) compared field by field
 * with what we meant to write; and proto/'s field numbers checked against TensorFlow's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableReader } from '../../src/formats/sstable.js';
import { writeBundle } from '../../src/formats/bundle.js';
import type { TensorValue } from '../../src/formats/tensor-value.js';
import { crc32c, maskCrc } from '../../src/formats/crc32c.js';
import { encodeGraphDef, encodeMetaGraphDef } from '../../src/formats/graphdef.js';
import { protoType } from '../../src/formats/protos.js';
import { freezeModel } from '../../src/graph/freeze.js';
import { buildMetaGraph } from '../../src/graph/metagraph.js';
import { trainingMetaVariables } from '../../src/graph/model-metagraph.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import { createOptimizer } from '../../src/train/optimizers.js';
import { GLOBAL_STEP } from '../../src/checkpoint/global-step.js';
import { trainingState } from '../../src/train/train.js';
import { l2Regularizer } from '../../src/variables/regularizers.js';
import { requirement } from '../helpers/requirements.js';
import { assertDecodedAs, parseTextFormat, protocDecode, protocVersion, type TextMessage } from '../helpers/protoc.js';

/**
 * TensorFlow's field numbers (tensorflow/core/framework/{graph,node_def,attr_value,tensor,
 * tensor_shape,versions,op_def,variable}.proto, core/protobuf/{meta_graph,saver,tensor_bundle}.proto),
 * written out here by hand: proto/ must agree, or what we encode is not what TensorFlow reads.
 */
const TENSORFLOW_FIELDS: Record<string, Record<string, number>> = {
  'tensorflow.GraphDef': { node: 1, library: 2, version: 3, versions: 4 },
  'tensorflow.FunctionDefLibrary': { function: 1, gradient: 2 },
  'tensorflow.FunctionDef': { signature: 1, node_def: 3, ret: 4, attr: 5, control_ret: 6 },
  'tensorflow.GradientDef': { function_name: 1, gradient_func: 2 },
  'tensorflow.NodeDef': { name: 1, op: 2, input: 3, device: 4, attr: 5 },
  'tensorflow.AttrValue': { list: 1, s: 2, i: 3, f: 4, b: 5, type: 6, shape: 7, tensor: 8, placeholder: 9, func: 10 },
  'tensorflow.AttrValue.ListValue': { s: 2, i: 3, f: 4, b: 5, type: 6, shape: 7, tensor: 8, func: 9 },
  'tensorflow.NameAttrList': { name: 1, attr: 2 },
  'tensorflow.TensorProto': {
    dtype: 1, tensor_shape: 2, version_number: 3, tensor_content: 4, float_val: 5, double_val: 6, int_val: 7, string_val: 8,
    scomplex_val: 9, int64_val: 10, bool_val: 11, dcomplex_val: 12, half_val: 13, uint32_val: 16, uint64_val: 17,
  },
  'tensorflow.TensorShapeProto': { dim: 2, unknown_rank: 3 },
  'tensorflow.TensorShapeProto.Dim': { size: 1, name: 2 },
  'tensorflow.VersionDef': { producer: 1, min_consumer: 2, bad_consumers: 3 },
  'tensorflow.MetaGraphDef': { meta_info_def: 1, graph_def: 2, saver_def: 3, collection_def: 4, signature_def: 5, object_graph_def: 7 },
  'tensorflow.SavedObjectGraph': { nodes: 1, concrete_functions: 2 },
  'tensorflow.SavedObject': { children: 1, user_object: 4, asset: 5, function: 6, variable: 7, bare_concrete_function: 8, constant: 9, resource: 10 },
  'tensorflow.SavedConcreteFunction': { bound_inputs: 2 },
  'tensorflow.SavedBareConcreteFunction': { concrete_function_name: 1, argument_keywords: 2 },
  'tensorflow.SavedVariable': { dtype: 1, shape: 2, trainable: 3, name: 6 },
  'tensorflow.TrackableObjectGraph': { nodes: 1 },
  'tensorflow.TrackableObjectGraph.TrackableObject': { children: 1, attributes: 2, slot_variables: 3 },
  'tensorflow.TrackableObjectGraph.TrackableObject.ObjectReference': { node_id: 1, local_name: 2 },
  'tensorflow.TrackableObjectGraph.TrackableObject.SerializedTensor': { name: 1, full_name: 2, checkpoint_key: 3 },
  'tensorflow.MetaGraphDef.MetaInfoDef': { meta_graph_version: 1, stripped_op_list: 2, tags: 4, tensorflow_version: 5, tensorflow_git_version: 6, stripped_default_attrs: 7 },
  'tensorflow.CollectionDef': { node_list: 1, bytes_list: 2, int64_list: 3, float_list: 4 },
  'tensorflow.SaverDef': { filename_tensor_name: 1, save_tensor_name: 2, restore_op_name: 3, max_to_keep: 4, sharded: 5, keep_checkpoint_every_n_hours: 6, version: 7 },
  'tensorflow.VariableDef': { variable_name: 1, initializer_name: 2, snapshot_name: 3, is_resource: 5, initial_value_name: 6, trainable: 7 },
  'tensorflow.OpDef': { name: 1, input_arg: 2, output_arg: 3, attr: 4, summary: 5, description: 6, is_aggregate: 16, is_stateful: 17, is_commutative: 18, allows_uninitialized_input: 19 },
  'tensorflow.OpDef.ArgDef': { name: 1, description: 2, type: 3, type_attr: 4, number_attr: 5, type_list_attr: 6, is_ref: 16 },
  'tensorflow.OpDef.AttrDef': { name: 1, type: 2, default_value: 3, description: 4, has_minimum: 5, minimum: 6, allowed_values: 7 },
  'tensorflow.BundleHeaderProto': { num_shards: 1, endianness: 2, version: 3 },
  'tensorflow.BundleEntryProto': { dtype: 1, shape: 2, shard_id: 3, offset: 4, size: 5, crc32c: 6, slices: 7 },
};

test("proto/ holds TensorFlow's field numbers for every message we write", () => {
  for (const [message, fields] of Object.entries(TENSORFLOW_FIELDS)) {
    const type = protoType(message);
    const ours = Object.fromEntries(Object.values(type.fields).map((f) => [f.name, f.id]));
    for (const [name, id] of Object.entries(ours)) assert.equal(id, fields[name], `${message}.${name}: field ${id} in proto/, ${fields[name] ?? 'no such field'} in TensorFlow`);
  }
  assert.equal(protoType('tensorflow.BundleEntryProto').fields.crc32c.type, 'fixed32');
});

const skip = requirement('protoc', protocVersion() ? undefined : 'not installed (Debian: apt-get install protobuf-compiler)');

function buildModel(name: string): Model {
  return Model.build(getModelDefinition(name), { seed: 1, regularizer: l2Regularizer(1e-4) });
}

for (const name of ['mlp', 'inception-mini']) {
  test(`protoc --decode=tensorflow.GraphDef reads our frozen ${name} as we meant it, field by field`, { skip }, () => {
    const model = buildModel(name);
    const graph = freezeModel(model);
    const text = protocDecode('tensorflow.GraphDef', 'graph.proto', encodeGraphDef(graph));
    const read = parseTextFormat(text);
    assertDecodedAs(read, graph as unknown as Record<string, unknown>, 'GraphDef');
    // A few facts in TensorFlow's own words, beside the generic comparison.
    assert.match(text, /^node \{\n {2}name: "x-input"\n {2}op: "Placeholder"\n/);
    assert.match(text, /key: "dtype"\n {4}value \{\n {6}type: DT_FLOAT\n/);
    assert.equal((read.node as TextMessage[]).length, graph.node.length);
    model.dispose();
  });
}

test('protoc --decode=tensorflow.MetaGraphDef reads our model.ckpt-N.meta as we meant it, VariableDefs included', { skip }, () => {
  const model = buildModel('deep-cnn');
  const ema = new ExponentialMovingAverage(0.99);
  ema.createShadows(model.store.trainable());
  const optimizer = createOptimizer('adam', { momentum: 0 });
  optimizer.createSlots(model.store.trainable());
  const state = trainingState(model, ema, optimizer);
  const meta = buildMetaGraph({ graph: model.graph, variables: trainingMetaVariables(model, state, { globalStep: GLOBAL_STEP }), maxToKeep: 5 });
  const read = parseTextFormat(protocDecode('tensorflow.MetaGraphDef', 'meta_graph.proto', encodeMetaGraphDef(meta)));
  assertDecodedAs(read, meta as unknown as Record<string, unknown>, 'MetaGraphDef');
  const saver = (read.saver_def[0] as TextMessage);
  assert.deepEqual([saver.max_to_keep, saver.keep_checkpoint_every_n_hours, saver.version], [[{ token: '5' }], [{ token: '10000' }], [{ token: 'V2' }]]);
  // The variables collection holds serialized VariableDefs: protoc reads them too.
  const collection = meta.collection_def!.variables.bytes_list!.value!;
  assert.equal(collection.length, state.size + 1);
  const names = collection.map((bytes) => {
    const def = parseTextFormat(protocDecode('tensorflow.VariableDef', 'variable.proto', bytes));
    return Buffer.from((def.variable_name[0] as { bytes: Uint8Array }).bytes).toString();
  });
  assert.deepEqual(names.sort(), [...state.keys(), GLOBAL_STEP].map((n) => `${n}:0`).sort());
  optimizer.dispose();
  ema.dispose();
  model.dispose();
});

test('protoc reads our checkpoint .index: the BundleHeaderProto and every BundleEntryProto as meant', { skip }, () => {
  const tensors: Array<[string, TensorValue]> = [
    ['layer1/weights', { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, -2, 3.5, 0, 1e-8, 7) }],
    ['global_step', { dtype: 'int64', shape: [], data: BigInt64Array.of(1234n) }],
    ['counts', { dtype: 'int32', shape: [4], data: Int32Array.of(1, 2, 3, -4) }],
    ['flags', { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) }],
  ];
  const { index } = writeBundle(tensors);
  const [header, ...entries] = TableReader.read(index, 'test.index').entries;
  assert.equal(header.key.length, 0);
  assertDecodedAs(parseTextFormat(protocDecode('tensorflow.BundleHeaderProto', 'tensor_bundle.proto', header.value)), { num_shards: 1, version: { producer: 1 } }, 'header');
  const sorted = [...tensors].sort(([a], [b]) => (a < b ? -1 : 1));
  assert.deepEqual(entries.map((e) => Buffer.from(e.key).toString()), sorted.map(([n]) => n));
  const DT = { float32: 'DT_FLOAT', int64: 'DT_INT64', int32: 'DT_INT32', bool: 'DT_BOOL' } as Record<string, string>;
  let offset = 0;
  sorted.forEach(([name, t], i) => {
    const data = t.data as ArrayBufferView;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const meant = { dtype: DT[t.dtype], shape: { dim: t.shape.map((size) => ({ size })) }, offset, size: bytes.length, crc32c: maskCrc(crc32c(bytes)) };
    assertDecodedAs(parseTextFormat(protocDecode('tensorflow.BundleEntryProto', 'tensor_bundle.proto', entries[i].value)), meant, name);
    offset += bytes.length;
  });
});

