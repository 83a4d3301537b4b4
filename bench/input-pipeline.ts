// Input-pipeline throughput (examples/s): node --import tsx bench/input-pipeline.ts [jpegCount]
// 1. the book's MNIST TFRecords → parse → shuffle(10,000) → batch(100): streamed Dataset and in-memory feed;
//    the IDX BatchIterator;
// 2. JPEG Examples → decode + preprocess_for_train on worker threads (1 and 2) vs. the main thread;
// 3. the MLP and book-CNN training steps on the default backend, for comparison;
// 4. MLP training steps fed by each MNIST source.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadMnist, sliceSplit } from '../src/data/mnist.js';
import { bytesFeature, encodeExample, int64Feature } from '../src/formats/example.js';
import { writeTFRecordFileSync } from '../src/formats/tfrecord.js';
import { Dataset } from '../src/pipeline/dataset.js';
import * as tf from '@tensorflow/tfjs';
import { collateMnist, mnistTFRecordBatches, parseMnistExample, writeMnistTFRecords } from '../src/pipeline/mnist-tfrecord.js';
import type { BatchStream } from '../src/pipeline/batch-stream.js';
import { BatchIterator, type Batch } from '../src/data/batches.js';
import { deriveSeed } from '../src/pipeline/random.js';
import { decodeAndAugment, type AugmentInput, type AugmentOutput } from '../src/image/augment-worker.js';
import { selectBackend } from '../src/backend/select.js';
import { cnn, mlp, randomBatch } from './models.js';

const jpegCount = Number(process.argv[2] ?? 3000);
const dir = mkdtempSync(path.join(tmpdir(), 'bench-pipeline-'));
const rate = (n: number, ms: number) => `${Math.round((n * 1000) / ms).toLocaleString('en-US')} examples/s`;
const results: Record<string, number> = {};
async function time(label: string, n: number, fn: () => Promise<unknown> | unknown) {
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  results[label] = (n * 1000) / ms;
  console.log(`${label.padEnd(58)} ${rate(n, ms).padStart(20)}  (${(ms / 1000).toFixed(2)} s for ${n})`);
}

try {
  const { train } = loadMnist();
  await writeMnistTFRecords(train, dir, { shards: 2 });
  const pattern = path.join(dir, 'data.tfrecords-*');

  const streamed = () =>
    Dataset.tfRecord(pattern, { cycleLength: 2 })
      .map((r) => parseMnistExample(r))
      .shuffle(10_000, { seed: 1 })
      .repeat()
      .batch(100)
      .map(collateMnist)
      .prefetch(2);
  await time('streamed Dataset: TFRecord → parse → shuffle → batch, 1 epoch', train.count, async () => {
    let n = 0;
    for await (const b of streamed()) if ((n += b.labels.length) >= train.count) break;
  });
  let feed: BatchStream<Batch> | undefined;
  await time('in-memory feed: read + parse all records (one-off)', train.count, async () => {
    feed = await mnistTFRecordBatches(pattern, { batchSize: 100, seed: 1 });
  });
  await time('in-memory feed: shuffle → batch, 5 epochs', 5 * train.count, () => {
    for (let i = 0; i < (5 * train.count) / 100; i++) feed!.next();
  });
  const idx = new BatchIterator(train, 100, 1);
  await time('IDX BatchIterator: epoch permutation → batch, 5 epochs', 5 * train.count, () => {
    for (let i = 0; i < (5 * train.count) / 100; i++) idx.next();
  });

  // The MLP's training step fed by each source (the question: is the input pipeline the bottleneck?).
  const { name } = await selectBackend('auto').catch(() => selectBackend('cpu'));
  const steps = 500;
  const fed = async (label: string, next: () => Batch | Promise<Batch>) => {
    const model = mlp();
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const b = await next();
        const x = tf.tensor2d(b.images, [b.labels.length, 784]);
        const y = tf.tidy(() => tf.oneHot(tf.tensor1d(b.labels, 'int32'), 10).toFloat());
        model.step(x, y);
        tf.dispose([x, y]);
      }
    };
    await run(20); // start-up (first read, compiling the step) is not part of the steady rate
    await time(`MLP steps fed by ${label} (${name})`, steps * 100, () => run(steps));
    model.dispose();
  };
  const fixed = { images: new Float32Array(100 * 784).fill(0.5), labels: new Int32Array(100).fill(3) };
  await fed('one in-memory batch (no input pipeline)', () => fixed);
  await fed('the IDX BatchIterator', () => idx.next());
  await fed('TFRecords, the in-memory feed (mnist train --tfrecords)', () => feed!.next()!);
  const it = streamed()[Symbol.asyncIterator]();
  await fed('TFRecords, the streamed Dataset', async () => (await it.next()).value as Batch);
  await it.return?.();

  // JPEG Examples of the first images, as a photo pipeline would store them.
  const subset = sliceSplit(train, 0, jpegCount);
  const jpegRecords: Uint8Array[] = [];
  for (let i = 0; i < subset.count; i++) {
    const pixels = subset.images.subarray(i * 784, (i + 1) * 784);
    const jpeg = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 95 }).toBuffer();
    jpegRecords.push(encodeExample({ image_jpeg: bytesFeature(jpeg), label: int64Feature(subset.labels[i]) }));
  }
  const jpegFile = path.join(dir, 'jpeg.tfrecords');
  writeTFRecordFileSync(jpegFile, jpegRecords);
  let index = 0;
  const inputs = () => Dataset.tfRecord(jpegFile).map((bytes): AugmentInput => ({ bytes, seed: deriveSeed(1, index++) }));
  const workerUrl = new URL('../src/image/augment-worker.ts', import.meta.url);

  // Startup (worker threads loading tfjs and sharp) is reported apart from the steady rate.
  const checksums: number[] = [];
  const measure = async (label: string, ds: Dataset<AugmentOutput[]>) => {
    const t0 = performance.now();
    let tFirst = 0;
    let afterFirst = 0;
    let n = 0;
    let sum = 0;
    for await (const batch of ds) {
      for (const e of batch) sum += e.image[200] + e.label;
      n += batch.length;
      if (!tFirst) tFirst = performance.now();
      else afterFirst += batch.length;
    }
    const steadyMs = performance.now() - tFirst;
    if (n !== subset.count) throw new Error(`saw ${n}`);
    checksums.push(sum);
    results[label] = (afterFirst * 1000) / steadyMs;
    console.log(`${label.padEnd(58)} ${rate(afterFirst, steadyMs).padStart(20)}  (first batch after ${((tFirst - t0) / 1000).toFixed(2)} s)`);
  };
  await selectBackend('cpu');
  index = 0;
  await measure('JPEG decode + preprocess_for_train, main thread', inputs().map(decodeAndAugment).batch(100));
  for (const parallelism of [1, 2]) {
    index = 0;
    await measure(`JPEG decode + preprocess_for_train, ${parallelism} worker(s)`, inputs().mapParallel<AugmentOutput>(workerUrl, 'decodeAndAugment', { parallelism }).batch(100).prefetch(2));
  }
  for (const parallelism of [1, 2]) {
    index = 0;
    await measure(`same, whole batches per message, ${parallelism} worker(s)`, inputs().batch(100).mapParallel<AugmentOutput[]>(workerUrl, 'decodeAndAugmentBatch', { parallelism }).prefetch(2));
  }
  console.log(`same augmented pixels on every run: ${checksums.every((c) => c === checksums[0])}`);

  await selectBackend(name as 'native' | 'wasm' | 'cpu');
  for (const [model, steps] of [[mlp(), 50], [cnn('book'), 5]] as const) {
    const { x, y } = randomBatch(model.batch);
    for (let i = 0; i < 2; i++) model.step(x, y);
    await time(`${model.name} training step, batch ${model.batch} (${name} backend)`, steps * model.batch, () => {
      for (let i = 0; i < steps; i++) model.step(x, y);
    });
  }
  console.log(JSON.stringify(results));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
