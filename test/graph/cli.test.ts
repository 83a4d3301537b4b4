import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { Saver } from '../../src/checkpoint/saver.js';
import { main } from '../../src/cli/main.js';
import { modelMetaGraph } from '../../src/graph/model-metagraph.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { ExponentialMovingAverage } from '../../src/train/ema.js';
import { writeModelDirInfo } from '../../src/train/model-dir.js';
import { GLOBAL_STEP, saveTrainingCheckpoint } from '../../src/checkpoint/global-step.js';
import { trainingState } from '../../src/train/train.js';

const dir = mkdtempSync(path.join(tmpdir(), 'graph-cli-'));
let model: Model;
let emaLogits: number[][];
let rawLogits: number[][];
const X = Array.from({ length: 3 }, (_, r) => Array.from({ length: 784 }, (_, i) => ((i * 7 + r * 13) % 17 === 0 ? ((i + r) % 10) / 10 : 0)));

/** Runs the CLI in this process and returns what it printed. */
async function cli(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const errors: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  console.error = (...a: unknown[]) => errors.push(a.join(' '));
  try {
    await main(['node', 'mnist', ...args, '--backend', 'cpu']);
  } finally {
    console.log = log;
    console.error = error;
  }
  const code = process.exitCode;
  process.exitCode = undefined;
  assert.ok(!code, `mnist ${args.join(' ')} failed: ${errors.join('\n')}`);
  return lines.join('\n');
}

function maxDiff(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]))));
}

before(async () => {
  await tf.setBackend('cpu');
  // A "trained" MLP directory: weights, moving averages that differ from them, a .meta.
  model = Model.build(getModelDefinition('mlp'), { seed: 4 });
  model.store.all().forEach((v, i) => v.variable.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 10 + i)));
  const ema = new ExponentialMovingAverage(0.99);
  ema.createShadows(model.store.trainable());
  for (const v of model.store.trainable()) v.variable.assign(tf.add(v.variable, 0.02));
  ema.apply(model.store.trainable(), 5);
  const state = trainingState(model, ema, undefined);
  await saveTrainingCheckpoint(new Saver(), dir, state, 5, modelMetaGraph(model, state, { globalStep: GLOBAL_STEP }));
  await writeModelDirInfo(dir, { model: 'mlp', l2: 0, ema: 0.99, optimizer: 'sgd', createdBy: 'test' });
  const x = tf.tensor2d(X);
  rawLogits = model.logits(x).arraySync();
  for (const v of model.store.trainable()) v.variable.assign(ema.shadowOf(v));
  emaLogits = model.logits(x).arraySync();
  assert.ok(maxDiff(rawLogits, emaLogits) > 1e-3, 'EMA and raw values differ');
  writeFileSync(path.join(dir, 'x.json'), JSON.stringify(X));
});

after(() => {
  model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('mnist freeze / run-graph / export / predict --graph', () => {
  it('freeze (EMA values) → run-graph with a .json input gives the model\'s logits', async () => {
    const pb = path.join(dir, 'mlp.pb');
    assert.match(await cli('freeze', '--model-dir', dir, '-o', pb), /Froze 4 variables of mlp \(moving averages, step 5\)/);
    const out = JSON.parse(await cli('run-graph', pb, '--input', `x-input=${path.join(dir, 'x.json')}`, '--output', 'layer2/add:0', '--output', 'probabilities:0', '--json'));
    assert.deepEqual(out['layer2/add:0'].shape, [3, 10]);
    assert.ok(maxDiff(out['layer2/add:0'].values, emaLogits) < 1e-5);
  });

  it('freeze --no-ema --output-node keeps only that node\'s graph, with raw values', async () => {
    const pb = path.join(dir, 'raw.pb');
    await cli('freeze', '--model-dir', dir, '--no-ema', '--output-node', 'layer2/add', '-o', pb);
    const out = JSON.parse(await cli('run-graph', pb, '--input', `x-input=${path.join(dir, 'x.json')}`, '--json'));
    assert.deepEqual(Object.keys(out), ['layer2/add:0']);
    assert.ok(maxDiff(out['layer2/add:0'].values, rawLogits) < 1e-5);
  });

  it('run-graph on the checkpoint\'s .meta (import_meta_graph + restore) with a .npy input', async () => {
    const npy = path.join(dir, 'x.npy');
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 784), }`.padEnd(117) + '\n';
    writeFileSync(npy, Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, 118, 0]), Buffer.from(header), Buffer.from(Float32Array.from(X.flat()).buffer)]));
    const meta = path.join(dir, 'model.ckpt-5.meta');
    const raw = JSON.parse(await cli('run-graph', meta, '--input', `x-input=${npy}`, '--output', 'layer2/add:0', '--json'));
    assert.ok(maxDiff(raw['layer2/add:0'].values, rawLogits) < 1e-5);
    const averaged = JSON.parse(await cli('run-graph', meta, '--input', `x-input=${npy}`, '--output', 'layer2/add:0', '--ema', '--json'));
    assert.ok(maxDiff(averaged['layer2/add:0'].values, emaLogits) < 1e-5);
  });

  it('export --format tfjs writes model.json + weights.bin that tf.loadGraphModel runs', async () => {
    const out = path.join(dir, 'web');
    await cli('export', '--format', 'tfjs', '--model-dir', dir, '-o', out);
    const json = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8'));
    assert.equal(json.format, 'graph-model');
    assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
    const weights = readFileSync(path.join(out, 'weights.bin'));
    assert.equal(weights.length, (784 * 500 + 500 + 500 * 10 + 10) * 4);
    const loaded = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) }));
    const logits = loaded.execute({ 'x-input': tf.tensor2d(X) }, 'layer2/add') as tf.Tensor;
    assert.ok(maxDiff(logits.arraySync() as number[][], emaLogits) < 1e-5);
    loaded.dispose();
    // …and run-graph reads the exported model back.
    const again = JSON.parse(await cli('run-graph', path.join(out, 'model.json'), '--input', `x-input=${path.join(dir, 'x.json')}`, '--output', 'layer2/add:0', '--json'));
    assert.ok(maxDiff(again['layer2/add:0'].values, emaLogits) < 1e-5);
  });

  it("export --graph converts TensorFlow's own frozen graph, which then runs from model.json", async () => {
    const out = path.join(dir, 'tf-web');
    await cli('export', '--format', 'tfjs', '--graph', 'test/fixtures/pb_softmax_mnist/frozen_model.pb', '-o', out);
    const viaJson = JSON.parse(await cli('run-graph', path.join(out, 'model.json'), '--input', `input=${path.join(dir, 'x.json')}`, '--json'));
    const viaPb = JSON.parse(await cli('run-graph', 'test/fixtures/pb_softmax_mnist/frozen_model.pb', '--input', `input=${path.join(dir, 'x.json')}`, '--json'));
    assert.deepEqual(Object.keys(viaJson), ['output:0']);
    assert.deepEqual(viaJson['output:0'].shape, [3, 10]);
    assert.deepEqual(viaJson, viaPb);
  });

  it('predict --graph gives the same probabilities as predict from the checkpoint', async () => {
    const png = path.join(dir, 'seven.png');
    const pixels = Buffer.alloc(28 * 28, 255);
    for (let i = 6; i < 22; i++) pixels[6 * 28 + i] = 0;
    for (let r = 7; r < 24; r++) pixels[r * 28 + 21 - Math.floor((r - 7) / 2)] = 0;
    await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(png);
    const fromGraph = JSON.parse(await cli('predict', '--graph', path.join(dir, 'mlp.pb'), '--json', png));
    const fromCheckpoint = JSON.parse(await cli('predict', '--model-dir', dir, '--json', png));
    assert.equal(fromGraph.digit, fromCheckpoint.digit);
    assert.ok(maxDiff([fromGraph.probabilities], [fromCheckpoint.probabilities]) < 1e-5);
  });

  it('a bad file ends the CLI with one "error:" line and exit code 1', async () => {
    const bad = path.join(dir, 'bad.pb');
    writeFileSync(bad, 'definitely not a graph');
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'run-graph', bad, '--backend', 'cpu']).then(
      () => assert.fail('expected a failure'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(result.code, 1);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('error:'));
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], new RegExp(`^error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a TensorFlow GraphDef`));
  });
});
