import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/errors.js';
import { attr, decodeGraphDef, decodeMetaGraphDef, encodeGraphDef, type GraphDef } from '../../src/formats/graphdef.js';
import { openGraph } from '../../src/graph/load.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';

const FROZEN = 'test/fixtures/pb_softmax_mnist/frozen_model.pb';
const dir = mkdtempSync(path.join(tmpdir(), 'graph-errors-'));

before(async () => {
  await tf.setBackend('cpu');
});

after(() => rmSync(dir, { recursive: true, force: true }));

function fileWith(name: string, bytes: Uint8Array | string): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** A one-line UserError whose message starts with the file and matches `problem`. */
function assertOneLine(fn: () => unknown, file: string, problem: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    assert.ok(!err.message.includes('\n'), err.message);
    assert.match(err.message, problem);
    return true;
  });
}

async function assertRejectsOneLine(promise: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
    assert.ok(err.message.startsWith(`${file}: `) && !err.message.includes('\n'), err.message);
    assert.match(err.message, problem);
    return true;
  });
}

describe('bad graph files give one-line errors naming the file', () => {
  it('a text file is not a GraphDef', () => {
    const file = fileWith('notes.pb', 'this is not a protobuf, just some text\n'.repeat(20));
    assertOneLine(() => openGraph(file), file, /not a TensorFlow GraphDef/);
  });

  it('an empty file is not a GraphDef', () => {
    const file = fileWith('empty.pb', new Uint8Array());
    assertOneLine(() => openGraph(file), file, /not a TensorFlow GraphDef \(no nodes/);
  });

  it('a truncated GraphDef', () => {
    const bytes = readFileSync(FROZEN);
    const file = fileWith('truncated.pb', bytes.subarray(0, Math.floor(bytes.length / 2)));
    assertOneLine(() => openGraph(file), file, /truncated/);
  });

  it('a missing file', () => {
    const file = path.join(dir, 'missing.pb');
    assertOneLine(() => openGraph(file), file, /no such file/);
  });

  it('a .meta without its checkpoint, or without an output', () => {
    const meta = fileWith('model.ckpt.meta', readFileSync('test/fixtures/meta_v1_v2/model.ckpt.meta'));
    assert.throws(() => openGraph(meta, { outputs: ['add:0'] }), (err: unknown) => err instanceof UserError && /no checkpoint here/.test(err.message));
    assertOneLine(() => openGraph(meta), meta, /name the output/);
  });

  it('bad TensorFlow.js model.json files', () => {
    const notJson = fileWith('model.json', '{ nope');
    assertOneLine(() => openGraph(notJson), notJson, /not valid JSON/);
    const layers = fileWith('layers.json', JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'Sequential' } }));
    assertOneLine(() => openGraph(layers), layers, /not a TensorFlow.js graph model/);
    const topology = { node: [{ name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '2' }] } } } } }] };
    const noWeights = fileWith('noweights.json', JSON.stringify({ format: 'graph-model', modelTopology: topology, weightsManifest: [{ paths: ['gone.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] }] }));
    assert.throws(() => openGraph(noWeights), (err: unknown) => err instanceof UserError && /gone\.bin: no such file/.test(err.message));
    fileWith('short.bin', new Uint8Array(4));
    const short = fileWith('short.json', JSON.stringify({ format: 'graph-model', modelTopology: topology, weightsManifest: [{ paths: ['short.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] }] }));
    assertOneLine(() => openGraph(short), short, /truncated weight file/);
  });

  it('an op TensorFlow.js does not know is named', async () => {
    const graph: GraphDef = {
      node: [
        { name: 'x', op: 'Placeholder', input: [], attr: { dtype: attr.type('float32'), shape: attr.shape([null, 2]) } },
        { name: 'weird', op: 'FrobnicateV7', input: ['x'], attr: { T: attr.type('float32') } },
        { name: 'out', op: 'Identity', input: ['weird'], attr: { T: attr.type('float32') } },
      ],
    };
    const file = fileWith('unknown-op.pb', encodeGraphDef(graph));
    const frozen = FrozenGraph.load(openGraph(file), file);
    await assertRejectsOneLine(frozen.run({ x: tf.zeros([1, 2]) }, ['out:0']), file, /op FrobnicateV7 \(node "weird"\) is not supported/);
    frozen.dispose();
  });

  it('a graph that still holds variables is not frozen', async () => {
    const meta = decodeMetaGraphDef(readFileSync('test/fixtures/meta_v1_v2/model.ckpt.meta'), 'v1v2.meta');
    const file = fileWith('unfrozen.pb', encodeGraphDef(meta.graph_def!));
    const frozen = FrozenGraph.load(openGraph(file), file);
    await assertRejectsOneLine(frozen.run({}, ['add:0']), file, /node "v[12]" is a variable \(VariableV2\): the graph is not frozen/);
    frozen.dispose();
  });

  it('unknown feed or fetch names', async () => {
    const frozen = FrozenGraph.load(decodeGraphDef(readFileSync(FROZEN), FROZEN), FROZEN);
    await assertRejectsOneLine(frozen.run({ input: tf.zeros([1, 784]) }, ['nope:0']), FROZEN, /no node named "nope"/);
    await assertRejectsOneLine(frozen.run({ x: tf.zeros([1, 784]) }, ['output:0']), FROZEN, /no node named "x" to feed/);
    await assertRejectsOneLine(frozen.run({}, ['output:0']), FROZEN, /placeholder "input" must be fed to compute output:0/);
    frozen.dispose();
  });
});
