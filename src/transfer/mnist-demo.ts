/**
 * The offline transfer-learning demonstration on MNIST: a CNN trained only on digits 0–4 is
 * frozen, and its bottleneck features are reused to learn digits 5–9 from a few labelled images
 * per class — against the same CNN trained from scratch on those few images.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CheckpointReader } from '../checkpoint/reader.js';
import { latestCheckpoint } from '../checkpoint/saver.js';
import { restoreVariables } from '../checkpoint/tf-variables.js';
import { BatchIterator } from '../data/batches.js';
import { IMAGE_PIXELS, IMAGE_SIZE, toFloatPixels, type MnistSplit } from '../data/mnist.js';
import { evaluate, loadModel } from '../eval/evaluate.js';
import { freezeModelToBytes } from '../graph/freeze.js';
import { openGraph } from '../graph/load.js';
import { FrozenGraph } from '../graph/tfjs-model.js';
import { encodePng } from '../image/ops.js';
import { Model } from '../models/model.js';
import { getModelDefinition } from '../models/registry.js';
import { BOOK_DEFAULTS } from '../train/config.js';
import { sparseSoftmaxCrossEntropy } from '../train/loss.js';
import { runSteps } from '../train/loop.js';
import { createOptimizer } from '../train/optimizers.js';
import { train } from '../train/train.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { Random } from '../util/random.js';
import { BottleneckGraph } from './bottlenecks.js';
import { FinalLayer } from './final-layer.js';
import { readTransferInfo } from './model-dir.js';

/**
 * The images of `digits` only, at most `perClass` of each: the first ones in file order, or, with
 * `drawSeed`, a seeded random draw (so repeated experiments can use different small sets).
 */
export function digitsSubset(split: MnistSplit, digits: number[], perClass = Infinity, drawSeed?: number): MnistSplit {
  const order = Array.from({ length: split.count }, (_, i) => i);
  if (drawSeed !== undefined) new Random(drawSeed).shuffle(order);
  const taken = new Map(digits.map((d) => [d, 0]));
  const indices: number[] = [];
  for (const i of order) {
    const n = taken.get(split.labels[i]);
    if (n === undefined || n >= perClass) continue;
    taken.set(split.labels[i], n + 1);
    indices.push(i);
  }
  indices.sort((a, b) => a - b);
  const images = new Uint8Array(indices.length * IMAGE_PIXELS);
  indices.forEach((src, dst) => images.set(split.images.subarray(src * IMAGE_PIXELS, (src + 1) * IMAGE_PIXELS), dst * IMAGE_PIXELS));
  return { images, labels: Uint8Array.from(indices, (i) => split.labels[i]), count: indices.length };
}

/** `dir/<digit>/<n>.png`: the book's class-folder layout, from MNIST images. */
export async function writeDigitFolders(split: MnistSplit, dir: string): Promise<void> {
  for (let i = 0; i < split.count; i++) {
    const folder = path.join(dir, String(split.labels[i]));
    mkdirSync(folder, { recursive: true });
    const image = tf.tensor3d(Int32Array.from(split.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS)), [IMAGE_SIZE, IMAGE_SIZE, 1], 'int32');
    await writeFileAtomic(path.join(folder, `${String(i).padStart(5, '0')}.png`), await encodePng(image));
    image.dispose();
  }
}

const silent = { start() {}, step() {}, log() {}, stop() {} };

/** Trains a registry model on `split` with `mnist train`'s loop and freezes it (EMA values) to `pbFile`. */
export async function trainAndFreeze(modelName: string, split: MnistSplit, modelDir: string, pbFile: string, steps: number, seed = 1): Promise<void> {
  const def = getModelDefinition(modelName);
  const config = { ...BOOK_DEFAULTS, ...def.defaults };
  const result = await train(
    { ...config, model: modelName, modelDir, steps, fresh: true, seed, checkpointEvery: steps, logEvery: steps + 1, decaySteps: Math.max(1, Math.floor(split.count / config.batchSize)) },
    split,
    silent,
  );
  result.model.dispose();
  const loaded = loadModel(modelDir);
  await writeFileAtomic(pbFile, freezeModelToBytes(loaded.model));
  loaded.model.dispose();
}

/** The same network trained from nothing on a small labelled set (its own optimizer and rate); accuracy on `test`. */
export async function trainFromScratch(modelName: string, split: MnistSplit, test: MnistSplit, steps: number, batchSize: number, seed = 1): Promise<number> {
  const def = getModelDefinition(modelName);
  const config = { ...BOOK_DEFAULTS, ...def.defaults };
  const model = Model.build(def, { seed });
  const trainable = model.store.trainable();
  const optimizer = createOptimizer(config.optimizer, { momentum: config.momentum });
  optimizer.createSlots(trainable);
  const batches = new BatchIterator(split, Math.min(batchSize, split.count), seed);
  try {
    await runSteps({
      fromStep: 0,
      toStep: steps,
      step: () => {
        const batch = batches.next();
        tf.tidy(() => {
          const xs = tf.tensor2d(batch.images, [batch.labels.length, IMAGE_PIXELS]);
          const ys = tf.tensor1d(batch.labels, 'int32');
          const { grads } = tf.variableGrads(() => sparseSoftmaxCrossEntropy(model.logits(xs, true), ys), trainable.map((v) => v.variable));
          optimizer.apply(trainable, trainable.map((v) => grads[v.variable.name]), config.learningRate);
        });
        return undefined;
      },
    });
    return evaluate(model, test).accuracy;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/**
 * Accuracy of a transfer model directory on MNIST images: pixels go through the frozen graph to
 * the bottleneck and through the trained layer; class folder names are the digits.
 */
export async function transferAccuracy(modelDir: string, test: MnistSplit): Promise<number> {
  const info = readTransferInfo(modelDir);
  const graphFile = path.join(modelDir, info.graph);
  const frozen = FrozenGraph.load(openGraph(graphFile), graphFile);
  const layer = FinalLayer.build(info.bottleneckSize, info.classes.length);
  try {
    restoreVariables(CheckpointReader.open(latestCheckpoint(modelDir)!), Object.fromEntries(layer.store.all().map((v) => [v.name, v.variable])));
    const graph = await BottleneckGraph.open(frozen, new Uint8Array(), info.input, info.bottleneck, info.inputSpec);
    const images: Float32Array[] = [];
    const pixels = toFloatPixels(test.images);
    for (let i = 0; i < test.count; i++) images.push(pixels.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS));
    const vectors: Float32Array[] = [];
    for (let i = 0; i < images.length; i += 500) vectors.push(...(await graph.run(images.slice(i, i + 500))));
    const labels = Array.from(test.labels, (d) => info.classes.indexOf(String(d)));
    return layer.accuracy({ vectors, labels });
  } finally {
    layer.dispose();
    frozen.dispose();
  }
}
