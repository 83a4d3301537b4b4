import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadMnist } from '../../src/data/mnist.js';
import { runCli } from '../helpers/cli.js';
import { UserError } from '../../src/errors.js';
import { decodeGraphDef, encodeGraphDef } from '../../src/formats/graphdef.js';
import { freezeModel } from '../../src/graph/freeze.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { findBottleneck, findInputPlaceholder } from '../../src/transfer/endpoints.js';

const FROZEN = path.join(import.meta.dirname, '../fixtures/pb_softmax_mnist/frozen_model.pb');

test('TensorFlow\'s frozen softmax regression: its only placeholder, and the input of its one MatMul', () => {
  const graph = decodeGraphDef(readFileSync(FROZEN), FROZEN);
  assert.equal(findInputPlaceholder(graph, FROZEN), 'input');
  assert.equal(findBottleneck(graph, FROZEN), 'input:0');
});

test('our frozen models: the input of the final fully-connected layer', () => {
  for (const [name, bottleneck] of [['mlp', 'layer1/Relu:0'], ['lenet5', 'layer6-fc2/Relu:0']]) {
    const model = Model.build(getModelDefinition(name));
    const graph = freezeModel(model);
    model.dispose();
    assert.equal(findInputPlaceholder(graph, name), 'x-input');
    assert.equal(findBottleneck(graph, name), bottleneck, name);
  }
});

test('two placeholders or no final MatMul: one line saying which flag to give', () => {
  const graph = decodeGraphDef(readFileSync(FROZEN), FROZEN);
  const two = { ...graph, node: [...graph.node, { name: 'keep_prob', op: 'Placeholder', input: [], attr: { dtype: { type: 'DT_FLOAT' } } }] };
  assert.throws(() => findInputPlaceholder(two, 'g.pb'), (e: unknown) => e instanceof UserError && e.message === 'g.pb: the graph has 2 placeholders (input, keep_prob); choose the image input with --input');
  const noMatMul = { ...graph, node: graph.node.filter((n) => n.op !== 'MatMul').map((n) => ({ ...n, input: (n.input ?? []).filter((i) => i !== 'MatMul') })) };
  assert.throws(() => findBottleneck(noMatMul, 'g.pb'), (e: unknown) => e instanceof UserError && /name the bottleneck tensor with --bottleneck/.test(e.message));
});

test('mnist transfer without --input and --bottleneck finds them and says what it chose', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-endpoints-'));
  const model = Model.build(getModelDefinition('mlp'), { seed: 3 });
  writeFileSync(path.join(dir, 'mlp.pb'), encodeGraphDef(freezeModel(model)));
  model.dispose();
  const { test: split } = loadMnist({ limit: 40 });
  for (let i = 0; i < 40; i++) {
    const label = split.labels[i];
    if (label !== 0 && label !== 1) continue;
    const folder = path.join(dir, 'imgs', label === 0 ? 'zero' : 'one');
    mkdirSync(folder, { recursive: true });
    await sharp(Buffer.from(split.images.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(path.join(folder, `${i}.png`));
  }
  const r = runCli(['transfer', '--graph', path.join(dir, 'mlp.pb'), '--images', path.join(dir, 'imgs'), '-o', path.join(dir, 'out'), '--steps', '5', '--no-progress', '--validation-percent', '0', '--testing-percent', '0']);
  assert.match(r.stderr, /^Input placeholder x-input, bottleneck layer1\/Relu:0 \(override with --input \/ --bottleneck\)$/m);
  assert.equal(r.code, 0, r.stderr);
});
