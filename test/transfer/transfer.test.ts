import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMnist } from '../../src/data/mnist.js';
import { UserError } from '../../src/errors.js';
import { encodeGraphDef } from '../../src/formats/graphdef.js';
import { freezeModel } from '../../src/graph/freeze.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';
import { encodePng } from '../../src/image/ops.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { BottleneckCache, BottleneckGraph, computeBottlenecks, inputSize } from '../../src/transfer/bottlenecks.js';
import { readImageFolders, whichSet } from '../../src/transfer/image-folders.js';
import { digitsSubset, trainAndFreeze, transferAccuracy, writeDigitFolders } from '../../src/transfer/mnist-demo.js';
import { predictTransfer } from '../../src/transfer/predict.js';
import { runTransfer, TRANSFER_DEFAULTS } from '../../src/transfer/transfer.js';
import { assertSameCheckpoint } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { fastestBackend } from '../models/backend-for-tests.js';

await fastestBackend();
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mnist-transfer-'));
const mnist = loadMnist({ limit: 3000 });

/** An MLP with random weights, frozen: `x-input` [-1, 784] → `layer1/Relu` (500) → logits. */
function frozenMlp(): { frozen: FrozenGraph; bytes: Uint8Array } {
  const model = Model.build(getModelDefinition('mlp'), { seed: 3 });
  const graph = freezeModel(model);
  model.dispose();
  return { frozen: FrozenGraph.load(graph, 'mlp.pb'), bytes: encodeGraphDef(graph) };
}

async function writePng(file: string, pixels: Uint8Array, size = 28): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const img = tf.tensor3d(Int32Array.from(pixels), [size, size, 1], 'int32');
  writeFileSync(file, await encodePng(img));
  img.dispose();
}

const digit = (i: number) => mnist.test.images.subarray(i * 784, (i + 1) * 784);

test('digit subsets: the first per class, or a seeded random draw of the same size', () => {
  const first = digitsSubset(mnist.train, [5, 7], 10);
  const drawn = digitsSubset(mnist.train, [5, 7], 10, 1);
  for (const subset of [first, drawn]) {
    assert.equal(subset.count, 20);
    assert.deepEqual([...new Set(subset.labels)].sort(), [5, 7]);
    assert.equal(subset.labels.filter((l) => l === 5).length, 10);
  }
  const image = (s: typeof first, i: number) => Buffer.from(s.images.subarray(i * 784, (i + 1) * 784)).toString('hex');
  const firstFives = first.labels.findIndex((l) => l === 5);
  const expectedFirst = mnist.train.labels.findIndex((l) => l === 5);
  assert.equal(image(first, firstFives), Buffer.from(mnist.train.images.subarray(expectedFirst * 784, (expectedFirst + 1) * 784)).toString('hex'));
  assert.deepEqual(digitsSubset(mnist.train, [5, 7], 10, 1).images, drawn.images, 'same seed, same draw');
  assert.notDeepEqual(digitsSubset(mnist.train, [5, 7], 10, 2).images, drawn.images, 'another seed, another draw');
  assert.notDeepEqual(drawn.images, first.images);
});

test('class folders: sorted class names, JPEG/PNG only, set by file-name hash', async () => {
  const dir = tmp();
  await writePng(path.join(dir, 'tulips', 'a.png'), digit(0));
  await writePng(path.join(dir, 'daisy', 'b.PNG'), digit(1));
  writeFileSync(path.join(dir, 'daisy', 'c.jpg'), 'x');
  writeFileSync(path.join(dir, 'daisy', 'notes.txt'), 'not an image');
  writeFileSync(path.join(dir, 'LICENSE'), 'a file beside the class folders');
  const { classes, images } = readImageFolders(dir);
  assert.deepEqual(classes, ['daisy', 'tulips']);
  assert.deepEqual(
    images.map((i) => [path.relative(dir, i.file), i.label]),
    [[path.join('daisy', 'b.PNG'), 0], [path.join('daisy', 'c.jpg'), 0], [path.join('tulips', 'a.png'), 1]],
  );
  // retrain.py's rule: the same name always lands in the same set, `_nohash_` suffixes ignored, about 10/10/80.
  assert.equal(whichSet('x/cat_1_nohash_3.jpg', 10, 10), whichSet('y/cat_1_nohash_9.jpg', 10, 10));
  const counts = { training: 0, validation: 0, testing: 0 };
  for (let i = 0; i < 2000; i++) counts[whichSet(`img${i}.jpg`, 10, 10)]++;
  assert.ok(counts.validation > 150 && counts.validation < 250 && counts.testing > 150 && counts.testing < 250, JSON.stringify(counts));
});

test('class folders: empty class, no class folders and a missing directory are one-line errors', () => {
  const dir = tmp();
  mkdirSync(path.join(dir, 'roses'));
  mkdirSync(path.join(dir, 'daisy'));
  writeFileSync(path.join(dir, 'daisy', 'a.jpg'), 'x');
  assert.throws(() => readImageFolders(dir), (e: Error) => e instanceof UserError && e.message === `${path.join(dir, 'roses')}: class folder holds no images (.jpg, .jpeg, .png)`);
  const flat = tmp();
  writeFileSync(path.join(flat, 'a.jpg'), 'x');
  assert.throws(() => readImageFolders(flat), /expected one sub-folder of images per class, found 0/);
  assert.throws(() => readImageFolders(path.join(flat, 'nope')), /nope: no such directory/);
  assert.throws(() => readImageFolders(dir, { validationPercent: 60, testingPercent: 40 }), /leave some images for training/);
});

test('input size from the placeholder shape', () => {
  assert.deepEqual(inputSize([-1, 784], 'g'), { height: 28, width: 28, channels: 1 });
  assert.deepEqual(inputSize([-1, 299, 299, 3], 'g'), { height: 299, width: 299, channels: 3 });
  assert.deepEqual(inputSize([-1, 3 * 32 * 32], 'g'), { height: 32, width: 32, channels: 3 });
  assert.throws(() => inputSize([-1, 10], 'g.pb: input "x"'), /g.pb: input "x": cannot tell the image size/);
});

test('bottleneck graph: unknown input or bottleneck tensor is a one-line error naming the graph', async () => {
  const { frozen, bytes } = frozenMlp();
  const px = { mean: 0, std: 255 };
  await assert.rejects(BottleneckGraph.open(frozen, bytes, 'input', 'layer1/Relu:0', px), /^UserError: mlp.pb: input "input" is not a placeholder of the graph \(placeholders: x-input\)$/);
  await assert.rejects(BottleneckGraph.open(frozen, bytes, 'layer1/Relu', 'layer1/Relu:0', px), /input "layer1\/Relu" is not a placeholder/);
  await assert.rejects(BottleneckGraph.open(frozen, bytes, 'x-input', 'pool_3/_reshape:0', px), /mlp.pb: bottleneck tensor "pool_3\/_reshape:0" is not in the graph/);
  const graph = await BottleneckGraph.open(frozen, bytes, 'x-input:0', 'layer1/Relu:0', px);
  assert.equal(graph.size, 500);
  frozen.dispose();
});

test('bottleneck cache: computed once, reused on re-runs, a changed image recomputed; values are the graph\'s', async () => {
  const dir = tmp();
  const files = [0, 1, 2].map((i) => path.join(dir, 'img', `${i}.png`));
  for (let i = 0; i < 3; i++) await writePng(files[i], digit(i));
  const { frozen, bytes } = frozenMlp();
  const graph = await BottleneckGraph.open(frozen, bytes, 'x-input', 'layer1/Relu:0', { mean: 0, std: 255 });
  const cache = new BottleneckCache(path.join(dir, 'cache'));

  const first = await computeBottlenecks(graph, cache, files);
  assert.deepEqual(first.stats, { cached: 0, computed: 3 });
  assert.equal(readdirSync(cache.dir).filter((f) => f.endsWith('.f32')).length, 3);
  // The vector is the graph's layer1/Relu of the image scaled to [0, 1].
  const expected = tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(digit(1), (p) => p / 255), [1, 784]);
    return x;
  });
  const [direct] = await frozen.run({ 'x-input': expected }, ['layer1/Relu:0']);
  const want = direct.dataSync() as Float32Array;
  assert.ok(want.some((v) => v > 0));
  assert.ok(first.vectors[1].every((v, i) => Math.abs(v - want[i]) < 1e-5));
  tf.dispose([expected, direct]);

  const again = await computeBottlenecks(graph, cache, files);
  assert.deepEqual(again.stats, { cached: 3, computed: 0 });
  assert.deepEqual(again.vectors, first.vectors);

  await writePng(files[2], digit(7));
  const changed = await computeBottlenecks(graph, cache, files);
  assert.deepEqual(changed.stats, { cached: 2, computed: 1 });
  assert.notDeepEqual(changed.vectors[2], first.vectors[2]);

  // A different bottleneck tensor (or graph) never reads another's entries.
  const other = await BottleneckGraph.open(frozen, bytes, 'x-input', 'layer2/add:0', { mean: 0, std: 255 });
  assert.deepEqual((await computeBottlenecks(other, cache, files)).stats, { cached: 0, computed: 3 });
  frozen.dispose();
});

test('an undecodable image is a one-line error naming the file', async () => {
  const dir = tmp();
  const bad = path.join(dir, 'broken.jpg');
  writeFileSync(bad, 'this is not a JPEG');
  const { frozen, bytes } = frozenMlp();
  const graph = await BottleneckGraph.open(frozen, bytes, 'x-input', 'layer1/Relu:0', { mean: 0, std: 255 });
  await assert.rejects(computeBottlenecks(graph, new BottleneckCache(path.join(dir, 'cache')), [bad]), (e: Error) => e instanceof UserError && e.message.startsWith(`${bad}: not a readable image`) && !e.message.includes('\n'));
  frozen.dispose();
});

test('MNIST demonstration in small: an MLP frozen on digits 0–4 transfers to 5–9 from 20 images per class; predict works', async () => {
  const dir = tmp();
  const pb = path.join(dir, 'digits04.pb');
  await trainAndFreeze('mlp', digitsSubset(mnist.train, [0, 1, 2, 3, 4]), path.join(dir, 'digits04'), pb, 300);
  const few = digitsSubset(mnist.train, [5, 6, 7, 8, 9], 20);
  await writeDigitFolders(few, path.join(dir, 'digits59'));
  const modelDir = path.join(dir, 'transfer59');
  const options = { ...TRANSFER_DEFAULTS, graph: pb, input: 'x-input', bottleneck: 'layer1/Relu:0', images: path.join(dir, 'digits59'), modelDir, steps: 300, checkpointEvery: 100 };
  const result = await runTransfer(options);
  assert.deepEqual(result.classes, ['5', '6', '7', '8', '9']);
  assert.equal(result.counts.training + result.counts.validation + result.counts.testing, 100);
  assert.deepEqual(result.cache, { cached: 0, computed: 100 });
  const written = readdirSync(modelDir);
  assert.ok(['model.ckpt-300.index', 'model.ckpt-200.index', 'transfer.json', 'graph.pb', 'checkpoint'].every((f) => written.includes(f)), written.join(' '));
  const test59 = digitsSubset(mnist.test, [5, 6, 7, 8, 9]);
  const accuracy = await transferAccuracy(modelDir, test59);
  assert.ok(accuracy > 0.6, `transfer accuracy ${accuracy} on ${test59.count} digits (chance 0.2)`);

  // Re-running reuses every bottleneck.
  assert.deepEqual((await runTransfer({ ...options, steps: 10 })).cache, { cached: 100, computed: 0 });
  await runTransfer(options);

  const pngs = Array.from({ length: 20 }, (_, i) => path.join(dir, `test${i}.png`));
  const test4 = digitsSubset(mnist.test, [5, 6, 7, 8, 9], 4);
  for (let i = 0; i < 20; i++) await writePng(pngs[i], test4.images.subarray(i * 784, (i + 1) * 784));
  const { predictions } = await predictTransfer(modelDir, pngs);
  assert.equal(predictions.length, 20);
  assert.ok(predictions.every((p) => ['5', '6', '7', '8', '9'].includes(p.className) && Math.abs(p.probabilities.reduce((a, b) => a + b) - 1) < 1e-4), JSON.stringify(predictions));
  assert.ok(predictions.filter((p, i) => p.className === String(test4.labels[i]))
      .length >= 8, `${predictions.map((p) => p.className)} for ${test4.labels}`);

  // The CLI face: predict --model-dir on the transfer model prints class names.
  const cli = runCli(['predict', '--model-dir', modelDir, pngs[0]]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`^${pngs[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [5-9]  \\(5:0\\.\\d{3} 6:`));
});

test('transfer: the final layer stopped at step 7 and resumed ends byte for byte like 20 uninterrupted steps', async () => {
  const dir = tmp();
  const pb = path.join(dir, 'digits04.pb');
  await trainAndFreeze('mlp', digitsSubset(mnist.train, [0, 1, 2, 3, 4]), path.join(dir, 'digits04'), pb, 20);
  await writeDigitFolders(digitsSubset(mnist.train, [5, 6, 7, 8, 9], 6), path.join(dir, 'digits59'));
  const options = (out: string) => ({
    ...TRANSFER_DEFAULTS, graph: pb, input: 'x-input', bottleneck: 'layer1/Relu:0', images: path.join(dir, 'digits59'),
    bottleneckDir: path.join(dir, 'bottlenecks'), modelDir: path.join(dir, out), steps: 20, batchSize: 8, checkpointEvery: 1000, seed: 3,
  });
  const straight = await runTransfer(options('straight'));
  let calls = 0;
  const stopped = await runTransfer({ ...options('resumed'), shouldStop: () => calls++ >= 7 });
  assert.equal(path.basename(stopped.checkpoint), 'model.ckpt-7');
  const lines: string[] = [];
  const resumed = await runTransfer({ ...options('resumed'), resume: true }, { log: (l) => lines.push(l) });
  assert.ok(lines.includes('Resuming from model.ckpt-7 at step 7.'), lines.join('\n'));
  assert.equal(path.basename(resumed.checkpoint), 'model.ckpt-20');
  assertSameCheckpoint(resumed.checkpoint, straight.checkpoint);
});

test('mnist transfer CLI: one-line errors for a missing bottleneck tensor and an empty class folder', async () => {
  const dir = tmp();
  const model = Model.build(getModelDefinition('mlp'), { seed: 3 });
  writeFileSync(path.join(dir, 'mlp.pb'), encodeGraphDef(freezeModel(model)));
  model.dispose();
  await writePng(path.join(dir, 'imgs', 'a', '1.png'), digit(0));
  await writePng(path.join(dir, 'imgs', 'b', '1.png'), digit(1));
  const args = ['transfer', '--graph', path.join(dir, 'mlp.pb'), '--input', 'x-input', '--images', path.join(dir, 'imgs'), '-o', path.join(dir, 'out'), '--steps', '5'];
  const missing = runCli([...args, '--bottleneck', 'nope:0']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), `error: ${path.join(dir, 'mlp.pb')}: bottleneck tensor "nope:0" is not in the graph (no node named "nope")`);
  mkdirSync(path.join(dir, 'imgs', 'c'));
  const empty = runCli([...args, '--bottleneck', 'layer1/Relu:0']);
  assert.equal(empty.code, 1);
  assert.equal(empty.stderr.trim(), `error: ${path.join(dir, 'imgs', 'c')}: class folder holds no images (.jpg, .jpeg, .png)`);
});
