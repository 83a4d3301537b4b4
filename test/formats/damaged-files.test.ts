/**
 * The damaged files of issue #20 §4, each built on purpose: every one must give a one-line
 * UserError that names the file and the problem in the project's words, never a JavaScript
 * internal, and nothing may be allocated from a size the file cannot back.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { quoted, UserError } from '../../src/errors.js';
import { readBundleIndex } from '../../src/formats/bundle.js';
import { parseCheckpointState } from '../../src/formats/checkpoint-state.js';
import { decodeExample } from '../../src/formats/example.js';
import { attr, decodeGraphDef, encodeGraphDef, tensorFromProto, type GraphDef } from '../../src/formats/graphdef.js';
import { protoType } from '../../src/formats/protos.js';
import { TableBuilder, TableReader } from '../../src/formats/sstable.js';
import { encodeTFRecords, readTFRecordFileSync, readTFRecords } from '../../src/formats/tfrecord.js';
import { encodeVarint64 } from '../../src/formats/varint.js';
import { openGraph } from '../../src/graph/load.js';
import { parseJsonArray } from '../../src/graph/feeds.js';
import { tfjsModelFiles } from '../../src/graph/tfjs-export.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';
import { INFO_FILE, readModelDirInfo } from '../../src/train/model-dir.js';
import { runCli } from '../helpers/cli.js';

const FROZEN = 'test/fixtures/pb_softmax_mnist/frozen_model.pb';
const dir = mkdtempSync(path.join(tmpdir(), 'damaged-'));

before(async () => {
  await tf.setBackend('cpu');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(name: string, bytes: Uint8Array | string): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

// eslint-disable-next-line no-control-regex -- raw binary in a message is one of the defects
const JS_INTERNALS = /Cannot read propert|\bundefined\b|\bnull\b|Invalid typed array|EISDIR:|Unexpected token|[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/;

/** A one-line UserError starting with `file` and matching `problem`. */
function isClean(err: unknown, file: string, problem: RegExp): true {
  assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
  assert.ok(err.message.startsWith(`${file}: `), err.message);
  assert.ok(!/[\n\r]/.test(err.message), `more than one line: ${err.message}`);
  assert.doesNotMatch(err.message, JS_INTERNALS);
  assert.match(err.message, problem);
  return true;
}

async function loadAndRun(file: string): Promise<void> {
  const model = FrozenGraph.load(openGraph(file), file);
  try {
    tf.dispose(await model.run({ input: tf.zeros([1, 784]) }, model.defaultOutputs));
  } finally {
    model.dispose();
  }
}

// Protobuf fields by hand, for what protobufjs would never encode: a map entry without its value.
const utf8 = (s: string) => new TextEncoder().encode(s);
const lengthDelimited = (field: number, bytes: Uint8Array) => Buffer.concat([encodeVarint64((field << 3) | 2), encodeVarint64(bytes.length), bytes]);

describe('graphs', () => {
  it('an attribute map entry without its value (one flipped bit) names the node and attribute', () => {
    const NodeDef = protoType('tensorflow.NodeDef');
    const node = Buffer.concat([
      NodeDef.encode(NodeDef.fromObject({ name: 'input', op: 'Placeholder' })).finish(),
      lengthDelimited(5, lengthDelimited(1, utf8('dtype'))), // attr {key: "dtype"} with no value
    ]);
    const graph = lengthDelimited(1, node);
    const pb = fileWith('no-attr-value.pb', graph);
    assert.throws(() => openGraph(pb), (err) => isClean(err, pb, /node "input"\.attr\["dtype"\] has no value/));
    const meta = fileWith('no-attr-value.meta', lengthDelimited(2, graph));
    assert.throws(() => openGraph(meta, { outputs: ['input:0'] }), (err) => isClean(err, meta, /not a TensorFlow MetaGraphDef .*"dtype"\] has no value/));
  });

  it('the real frozen graph with bit 203 flipped', () => {
    const bytes = readFileSync(FROZEN);
    bytes[203 >> 3] ^= 1 << (203 & 7);
    const file = fileWith('flipped.pb', bytes);
    assert.throws(() => openGraph(file), (err) => isClean(err, file, /has no value/));
  });

  it('a Const whose shape holds 2^62 is refused before anything is allocated', async () => {
    const graph = decodeGraphDef(readFileSync(FROZEN), FROZEN);
    graph.node.find((n) => n.name === 'Variable')!.attr!.value.tensor!.tensor_shape = { dim: [{ size: 2 ** 62 }] };
    const file = fileWith('huge-const.pb', encodeGraphDef(graph));
    await assert.rejects(loadAndRun(file), (err) => isClean(err, file, /node "Variable": constant tensor has a dimension too large/));
  });

  it('a Const filled from one value to a huge shape is refused', async () => {
    const graph: GraphDef = {
      node: [{ name: 'zeros', op: 'Const', input: [], attr: { dtype: attr.type('float32'), value: { tensor: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 2 ** 20 }, { size: 2 ** 20 }] }, float_val: [0] } } } }],
    };
    const file = fileWith('filled.pb', encodeGraphDef(graph));
    await assert.rejects(loadAndRun(file), (err) => isClean(err, file, /would take 4398046511104 bytes, more than the \d+ allowed/));
  });

  it('an input naming a missing node names the node that reads it', () => {
    const graph = decodeGraphDef(readFileSync(FROZEN), FROZEN);
    graph.node.find((n) => n.name === 'add')!.input = ['MatMul', 'Variable_1/raed'];
    const file = fileWith('dangling.pb', encodeGraphDef(graph));
    assert.throws(() => openGraph(file), (err) => isClean(err, file, /node "add" \("Add"\) reads "Variable_1\/raed", which is not a node of the graph/));
  });

  it('damage TensorFlow.js would trip over is named by node and op', async () => {
    const original = decodeGraphDef(readFileSync(FROZEN), FROZEN);
    const cases: Array<[string, (g: GraphDef) => void, RegExp]> = [
      ['missing-output', (g) => (g.node.find((n) => n.name === 'add')!.input = ['MatMul:3', 'Variable_1/read']), /node "add" \("Add"\) reads "MatMul:3", but "MatMul" \(MatMul\) has only 1 output/],
      ['lost-attr', (g) => delete g.node.find((n) => n.name === 'MatMul')!.attr!.T, /node "MatMul" \("MatMul"\) has no attribute "T", which MatMul requires/],
      ['wrong-op', (g) => (g.node.find((n) => n.name === 'MatMul')!.op = 'Conv2D'), /node "MatMul" \("Conv2D"\) has no attribute "strides", which Conv2D requires/],
      ['input-count', (g) => g.node.find((n) => n.name === 'add')!.input!.pop(), /node "add" \("Add"\) has 1 input, but Add takes 2/],
      ['attr-kind', (g) => (g.node.find((n) => n.name === 'MatMul')!.attr!.T = { s: utf8('float') }), /node "MatMul" \("MatMul"\): attribute "T" should hold a type/],
    ];
    for (const [name, damage, problem] of cases) {
      const graph = structuredClone(original);
      damage(graph);
      const file = fileWith(`${name}.pb`, encodeGraphDef(graph));
      await assert.rejects(loadAndRun(file), (err) => isClean(err, file, problem), name);
    }
  });

  it('a dimension whose size TensorFlow left out (proto3 zero) is 0, not NaN', () => {
    const value = tensorFromProto({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{} as { size: number }, { size: 3 }] } }, 'x.pb');
    assert.deepEqual(value.shape, [0, 3]);
    assert.equal(value.data.length, 0);
  });

  it('names from the file are quoted with their garbage escaped', () => {
    assert.equal(quoted('Id\u0000en\ufffdtity\n'), '"Id\\u0000en\\ufffdtity\\n"');
    assert.equal(quoted('x'.repeat(100), 10), `"${'x'.repeat(10)}…"`);
  });
});

describe('TensorFlow.js model.json and JSON feeds', () => {
  const graph = () => decodeGraphDef(readFileSync(FROZEN), FROZEN);

  function modelJsonWith(name: string, change: (json: Record<string, any>) => void): string {
    const folder = path.join(dir, name);
    mkdirSync(folder, { recursive: true });
    const { modelJson, weights } = tfjsModelFiles(graph(), FROZEN);
    const json = JSON.parse(modelJson) as Record<string, any>;
    change(json);
    writeFileSync(path.join(folder, 'weights.bin'), weights);
    return fileWith(`${name}/model.json`, JSON.stringify(json));
  }

  it('a damaged manifest or topology is named, never "[object Object]" or a TypeError', async () => {
    const cases: Array<[string, (json: Record<string, any>) => void, RegExp]> = [
      ['manifest-object', (j) => (j.weightsManifest = {}), /bad weightsManifest: the manifest should be a list, not an object/],
      ['weight-list', (j) => (j.weightsManifest[0].weights[1] = []), /bad weightsManifest: weight 1 of group 0 has no name/],
      ['weight-dtype', (j) => delete j.weightsManifest[0].weights[0].dtype, /weight "Variable" has no dtype/],
      ['weight-shape', (j) => (j.weightsManifest[0].weights[0].shape = [784, -10]), /weight "Variable" has no valid shape/],
      ['weight-path', (j) => (j.weightsManifest[0].paths = ['wei\ufffd.bin']), /has a file path with unprintable characters/],
      ['input-object', (j) => (j.modelTopology.node[2].input = [{}]), /modelTopology is not a GraphDef \(node "Variable\/read" has inputs that are not a list of names\)/],
      ['placeholder-shape', (j) => (j.modelTopology.node[0].attr.shape.shape.dim[1] = { size: '-5' }), /node "input" \("Placeholder"\): attribute "shape" holds an impossible shape/],
    ];
    for (const [name, change, problem] of cases) {
      const file = modelJsonWith(name, change);
      await assert.rejects(loadAndRun(file), (err) => isClean(err, file, problem), name);
    }
  });

  it('broken JSON gives one line, without quoting the text', () => {
    const file = fileWith('broken-model.json', '{\n  "format": "graph-model",\n  "modelTopology": {\n x\n}\n');
    assert.throws(() => openGraph(file), (err) => isClean(err, file, /not valid JSON \(/));
    const feed = fileWith('broken-feed.json', '[[1, 2],\n [3, \u0001]]\n');
    assert.throws(() => parseJsonArray(readFileSync(feed, 'utf8'), feed), (err) => isClean(err, feed, /not valid JSON/));
    const strings = fileWith('strings-feed.json', JSON.stringify([['x'.repeat(1000)]]));
    assert.throws(() => parseJsonArray(readFileSync(strings, 'utf8'), strings), (err) => isClean(err, strings, /expected numbers or booleans, found a string$/));
  });
});

describe('TFRecord files', () => {
  it('an Example whose feature map entry has no value reads as an empty feature, as in TensorFlow', async () => {
    const example = lengthDelimited(1, lengthDelimited(1, lengthDelimited(1, utf8('broken'))));
    const file = fileWith('null-feature.tfrecords', encodeTFRecords([example]));
    const features = [];
    for await (const rec of readTFRecords(file)) features.push(decodeExample(rec, `${file}: record 0`));
    assert.deepEqual(features, [{ broken: { bytesList: [] } }]);
  });

  it('a directory or a missing path is named', async () => {
    const folder = path.join(dir, 'records');
    mkdirSync(folder, { recursive: true });
    const drain = async (file: string) => {
      for await (const rec of readTFRecords(file)) void rec;
    };
    await assert.rejects(drain(folder), (err) => isClean(err, folder, /is a directory, not a TFRecord file/));
    assert.throws(() => readTFRecordFileSync(folder), (err) => isClean(err, folder, /is a directory/));
    const missing = path.join(dir, 'gone.tfrecords');
    await assert.rejects(drain(missing), (err) => isClean(err, missing, /no such file/));
  });
});

describe('checkpoints', () => {
  const index = readFileSync('test/fixtures/ckpt_v1_v2/model.ckpt.index');

  /** The index with entry `name`'s BundleEntryProto field `field` (a varint) set to `value`, checksums valid. */
  function indexWith(name: string, field: number, value: bigint): Uint8Array {
    const table = new TableBuilder();
    for (const e of TableReader.read(index, 'x.index').entries) {
      const isTarget = new TextDecoder().decode(e.key) === name;
      table.add(e.key, isTarget ? Buffer.concat([e.value, encodeVarint64(field << 3), encodeVarint64(value)]) : e.value);
    }
    return table.finish();
  }

  it('huge varints are named for what they are, never shown as negative numbers', () => {
    const cases: Array<[number, bigint, RegExp]> = [
      [4, 2n ** 64n - 1n, /tensor "v1": negative byte offset in the index/],
      [5, 2n ** 64n - 1n, /tensor "v1": negative byte size in the index/],
      [4, 2n ** 60n, /tensor "v1": byte offset 1152921504606846976 is larger than any file/],
      [3, 2n ** 64n - 1n, /tensor "v1": negative shard number in the index/],
    ];
    for (const [field, value, problem] of cases) {
      assert.throws(() => readBundleIndex(indexWith('v1', field, value), 'v.index'), (err) => isClean(err, 'v.index', problem));
    }
  });

  it('a garbage `checkpoint` state file is not echoed back', () => {
    const garbage = 'model_checkpoint_path: "a"\n\u0000\u0007\ufffd\ufffdjunk\n';
    assert.throws(() => parseCheckpointState(garbage, 'checkpoint'), (err) => isClean(err, 'checkpoint', /not a text checkpoint state file \(binary data on line 2\)/));
    const long = `model_checkpoint_path "${'x'.repeat(500)}"`;
    assert.throws(() => parseCheckpointState(long, 'checkpoint'), (err) => isClean(err, 'checkpoint', /got "model_checkpoint_path \\"x+…"$/));
  });

  it('a directory in place of the index or the state file is named', () => {
    const prefix = path.join(dir, 'ckpt-dirs', 'model.ckpt');
    mkdirSync(`${prefix}.index`, { recursive: true });
    assert.throws(() => CheckpointReader.open(prefix), (err) => isClean(err, `${prefix}.index`, /is a directory, not the index file/));
    const state = path.join(dir, 'ckpt-dirs', 'checkpoint');
    mkdirSync(state);
    assert.throws(() => CheckpointReader.open(path.dirname(state)), (err) => isClean(err, state, /is a directory, not a checkpoint state file/));
  });

  it('a checkpoint directory still opens (sanity)', () => {
    assert.deepEqual(CheckpointReader.open('test/fixtures/ckpt_v1_v2/model.ckpt').names(), ['v1', 'v2']);
  });
});

describe(`a model directory's ${INFO_FILE}`, () => {
  const good = JSON.stringify({ model: 'mlp', l2: 0.0001, ema: 0.99, optimizer: 'sgd', createdBy: 'mnist-ts', recipe: { batchSize: 100, staircase: true } }, null, 2);

  function infoWith(name: string, text: string): string {
    const model = path.join(dir, name);
    mkdirSync(model, { recursive: true });
    writeFileSync(path.join(model, INFO_FILE), text);
    return model;
  }

  it('one flipped bit gives one line naming the file, not the JSON', () => {
    const bytes = Buffer.from(good);
    bytes[good.indexOf('"l2"') + 6] ^= 0x80; // a byte of the number turns into invalid UTF-8
    const model = infoWith('flipped', bytes.toString('latin1'));
    const file = path.join(model, INFO_FILE);
    assert.throws(() => readModelDirInfo(model), (err) => isClean(err, file, /not a valid model description: not valid JSON/));
  });

  it('each field is checked', () => {
    const cases: Array<[string, RegExp]> = [
      [good.slice(0, 40), /not valid JSON \(it ends early; truncated\?\)/],
      ['[1, 2]', /not a JSON object/],
      [good.replace('"mlp"', '"ml\\u0000p"'), /"ml\\u0000p" is not a model name/],
      [good.replace('0.99', '"0.99"'), /"ema" should be a number/],
      [good.replace('"staircase": true', '"staircase": 1'), /"recipe.staircase" should be a boolean/],
    ];
    for (const [i, [text, problem]] of cases.entries()) {
      const model = infoWith(`case${i}`, text);
      assert.throws(() => readModelDirInfo(model), (err) => isClean(err, path.join(model, INFO_FILE), problem));
    }
    assert.equal(readModelDirInfo(infoWith('good', good))?.model, 'mlp');
  });

  it('a directory in its place is named', () => {
    const model = path.join(dir, 'folder-info');
    mkdirSync(path.join(model, INFO_FILE), { recursive: true });
    assert.throws(() => readModelDirInfo(model), (err) => isClean(err, path.join(model, INFO_FILE), /is a directory, not a model description/));
  });
});

describe('the CLI prints each of these as one "error:" line and exits with 1', () => {
  it('run-graph on a flipped bit, tfrecord read on a directory, test on a damaged mnist-ts.json', () => {
    const flipped = Buffer.from(readFileSync(FROZEN));
    flipped[203 >> 3] ^= 1 << (203 & 7);
    const pb = fileWith('cli-flipped.pb', flipped);
    const model = path.join(dir, 'cli-model');
    cpSync('test/fixtures/ckpt_v1_v2', model, { recursive: true });
    writeFileSync(path.join(model, 'checkpoint'), 'model_checkpoint_path: "model.ckpt"\n');
    writeFileSync(path.join(model, INFO_FILE), '{\n  "model": "mlp",\n  "l2": 0.0\u00ff1\n}\n');
    const cases: Array<[string[], string, RegExp]> = [
      [['run-graph', pb, '--backend', 'cpu'], pb, /not a TensorFlow GraphDef \(GraphDef\.node "input"\.attr\[.*\] has no value; damaged file\?\)$/],
      [['tfrecord', 'read', dir], dir, /is a directory, not a TFRecord file$/],
      [['test', '--model-dir', model, '--limit', '10', '--backend', 'cpu'], path.join(model, INFO_FILE), /not a valid model description: not valid JSON \(bad syntax at line 3, column 12\)$/],
    ];
    for (const [args, file, problem] of cases) {
      const { code, stdout, stderr } = runCli(args, { timeoutMs: 60_000 });
      assert.equal(code, 1, `${args.join(' ')}: ${stderr}`);
      assert.equal(stdout, '');
      const lines = stderr.split('\n').filter((l) => l.trim());
      assert.equal(lines.length, 1, stderr);
      assert.ok(lines[0].startsWith(`error: ${file}: `), lines[0]);
      assert.match(lines[0], problem);
    }
  });
});
