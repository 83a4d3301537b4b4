/**
 * MNIST as the book's TFRecord files (seed 002 §7.1): one tf.train.Example per image with
 *   pixels:    int64  = 784 (the number of pixels, a scalar — "把分辨率也作为一个属性")
 *   label:     int64  = the digit
 *   image_raw: bytes  = the 784 uint8 pixels (images[index].tostring())
 * sharded as data.tfrecords-00000-of-00002, …, and read back into training batches.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { MnistSplit } from '../data/mnist.js';
import { bytesFeature, encodeExample, fixedLenFeature, int64Feature, parseSingleExample } from '../formats/example.js';
import { TFRecordWriter, readTFRecordFileSync, type TFRecordCompression } from '../formats/tfrecord.js';
import { fileError, UserError } from '../errors.js';
import { Dataset } from './dataset.js';
import { matchFiles } from './files.js';
import { iterateInBackground } from './background.js';
import { deriveSeed, randomSeed } from './random.js';
import { Random } from '../util/random.js';

export const MNIST_PIXELS = 784;

export const MNIST_FEATURES = {
  image_raw: fixedLenFeature([], 'string'),
  pixels: fixedLenFeature([], 'int64'),
  label: fixedLenFeature([], 'int64'),
};

/** The book's Example for one image. */
export function mnistExample(image: Uint8Array, label: number): Uint8Array {
  return encodeExample({
    pixels: int64Feature(image.length),
    label: int64Feature(label),
    image_raw: bytesFeature(image),
  });
}

export interface MnistRecord {
  image: Uint8Array;
  label: number;
}

/** parse_single_example + decode_raw for the book's records; `source` names the input in errors. */
export function parseMnistExample(bytes: Uint8Array, source = 'record'): MnistRecord {
  const ex = parseSingleExample(bytes, MNIST_FEATURES, source);
  const image = (ex.image_raw.values as Uint8Array[])[0];
  const pixels = Number((ex.pixels.values as BigInt64Array)[0]);
  if (image.length !== pixels) throw fileError(source, `image_raw has ${image.length} bytes but pixels says ${pixels}`);
  return { image, label: Number((ex.label.values as BigInt64Array)[0]) };
}

/** `data.tfrecords-00003-of-00010`, as the book's '%.5d-of-%.5d'. */
export function shardName(index: number, shards: number, prefix = 'data.tfrecords'): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}-${pad(index)}-of-${pad(shards)}`;
}

export interface WriteMnistOptions {
  shards?: number;
  compression?: TFRecordCompression;
  /** Called after each record with (written, total). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Writes a split as `shards` files of consecutive images (shard i gets images
 * [i·n/shards, (i+1)·n/shards)). Each file appears atomically when complete. Returns the paths.
 */
export async function writeMnistTFRecords(split: MnistSplit, outDir: string, opts: WriteMnistOptions = {}): Promise<string[]> {
  const shards = opts.shards ?? 1;
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  let done = 0;
  for (let s = 0; s < shards; s++) {
    const file = path.join(outDir, shardName(s, shards));
    const writer = new TFRecordWriter(file, { compression: opts.compression });
    try {
      const start = Math.floor((s * split.count) / shards);
      const end = Math.floor(((s + 1) * split.count) / shards);
      for (let i = start; i < end; i++) {
        await writer.write(mnistExample(split.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), split.labels[i]));
        opts.onProgress?.(++done, split.count);
      }
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    files.push(file);
  }
  return files;
}

export interface MnistBatchOptions {
  batchSize: number;
  /** Seed of the shuffle (and so of the batch order); default random. */
  seed?: number;
  /** Shuffle buffer in examples (TF's buffer_size); default 10,000; 1 = no shuffle. */
  shuffleBuffer?: number;
  /** Passes over the files; default: forever (stop by breaking out of the loop). */
  epochs?: number;
  /** Drop a last short batch of each pass (default false). */
  dropRemainder?: boolean;
}

export interface MnistBatch {
  /** batch × 784 pixels scaled to [0, 1] like read_data_sets. */
  images: Float32Array;
  labels: Int32Array;
}

/** The dataset behind mnistBatchesFromTFRecords, for callers that want to compose further. */
export function mnistTFRecordDataset(pattern: string | string[], opts: MnistBatchOptions): Dataset<MnistBatch> {
  const files = matchFiles(pattern);
  let ds = Dataset.tfRecord(files, { cycleLength: files.length }).map((r) => parseMnistExample(r, files.length === 1 ? files[0] : String(pattern)));
  const buffer = opts.shuffleBuffer ?? 10_000;
  if (buffer > 1) ds = ds.shuffle(buffer, { seed: opts.seed });
  return ds
    .repeat(opts.epochs ?? Infinity)
    .batch(opts.batchSize, { dropRemainder: opts.dropRemainder })
    .map(collateMnist)
    .prefetch(2);
}

/**
 * Training batches from the book's TFRecord files: the shards are read interleaved, shuffled with a
 * seeded buffer (a new order each epoch), batched and scaled to [0, 1].
 *
 * By default the parsed records are kept in memory after one read (tf.data's `cache()`; MNIST's
 * 55,000 records are ~47 MB) and each epoch is only shuffled and batched — the cheapest feed for a
 * training loop. `cache: false` streams the files every epoch instead, on a worker thread
 * (`background: false` keeps it on this one) — for data that doesn't fit in memory.
 * All three give the same batches for the same options.
 */
export async function* mnistBatchesFromTFRecords(
  pattern: string | string[],
  opts: MnistBatchOptions & { cache?: boolean; background?: boolean },
): AsyncGenerator<MnistBatch> {
  const files = matchFiles(pattern); // fail fast, here, on a pattern that matches nothing
  const { background, cache, ...rest } = opts;
  if (cache !== false) yield* cachedMnistBatches(files, rest);
  else if (background === false) yield* mnistTFRecordDataset(files, rest);
  else yield* iterateInBackground<MnistBatch>(new URL(import.meta.url), 'mnistBatchesForWorker', { files, opts: rest }, { prefetch: 4 });
}

/** Entry point for the background worker (see iterateInBackground). */
export function mnistBatchesForWorker({ files, opts }: { files: string[]; opts: MnistBatchOptions }): Dataset<MnistBatch> {
  return mnistTFRecordDataset(files, opts);
}

export function collateMnist(batch: MnistRecord[]): MnistBatch {
  const images = new Float32Array(batch.length * MNIST_PIXELS);
  const labels = new Int32Array(batch.length);
  batch.forEach((r, b) => {
    if (r.image.length !== MNIST_PIXELS) throw new UserError(`MNIST record has ${r.image.length} pixels, expected ${MNIST_PIXELS}`);
    const off = b * MNIST_PIXELS;
    for (let i = 0; i < MNIST_PIXELS; i++) images[off + i] = r.image[i] / 255;
    labels[b] = r.label;
  });
  return { images, labels };
}

/**
 * The same batches as mnistBatchesFromTFRecords (same seed → same sequence), as a synchronous
 * `next()` for loops that can't await. Endless.
 */
export function mnistBatchSourceSync(pattern: string | string[], opts: Omit<MnistBatchOptions, 'epochs'>): () => MnistBatch {
  const batches = cachedMnistBatches(matchFiles(pattern), { ...opts, epochs: Infinity });
  return () => batches.next().value as MnistBatch;
}

/**
 * Reads and parses every record once, then per epoch: Dataset.shuffle's algorithm over the array,
 * repeat, batch — the same stream as mnistTFRecordDataset, without per-element async hops.
 */
function* cachedMnistBatches(files: string[], opts: MnistBatchOptions): Generator<MnistBatch> {
  const perFile = files.map((f) => readTFRecordFileSync(f).map((r, i) => parseMnistExample(r, `${f}: record ${i}`)));
  // interleave(cycle_length = #files, block_length = 1): round robin, skipping exhausted files
  const records: MnistRecord[] = [];
  for (let i = 0, more = true; more; i++) {
    more = false;
    for (const list of perFile) {
      if (i < list.length) {
        records.push(list[i]);
        more = true;
      }
    }
  }
  if (records.length === 0) throw fileError(files.join(', '), 'no records');
  const buffer = opts.shuffleBuffer ?? 10_000;
  const base = opts.seed ?? randomSeed();
  const epochs = opts.epochs ?? Infinity;
  let batch: MnistRecord[] = [];
  for (let pass = 0; pass < epochs; pass++) {
    const order = buffer > 1 ? bufferedShuffle(records, buffer, new Random(deriveSeed(base, pass))) : records;
    for (const r of order) {
      batch.push(r);
      if (batch.length === opts.batchSize) {
        yield collateMnist(batch);
        batch = [];
      }
    }
  }
  if (batch.length && !opts.dropRemainder) yield collateMnist(batch);
}

/** Dataset.shuffle's algorithm over an array (same random draws, same order). */
function* bufferedShuffle<T>(items: readonly T[], bufferSize: number, rng: Random): Generator<T> {
  const buf: T[] = [];
  for (const x of items) {
    if (buf.length < bufferSize) {
      buf.push(x);
      continue;
    }
    const i = rng.int(buf.length);
    const out = buf[i];
    buf[i] = x;
    yield out;
  }
  while (buf.length) {
    const i = rng.int(buf.length);
    const out = buf[i];
    buf[i] = buf[buf.length - 1];
    buf.pop();
    yield out;
  }
}
