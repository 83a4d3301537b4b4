/**
 * MNIST as the book's TFRecord files (seed 002 §7.1): one tf.train.Example per image with
 *   pixels:    int64  = 784 (the number of pixels, a scalar — "把分辨率也作为一个属性")
 *   label:     int64  = the digit
 *   image_raw: bytes  = the 784 uint8 pixels (images[index].tostring())
 * sharded as data.tfrecords-00000-of-00002, …, and read back into training batches.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { IMAGE_PIXELS, type MnistSplit } from '../data/mnist.js';
import { bytesFeature, encodeExample, fixedLenFeature, int64Feature, parseSingleExample } from '../formats/example.js';
import { TFRecordWriter, type TFRecordCompression } from '../formats/tfrecord.js';
import { fileError } from '../errors.js';
import { mnistBatchStream, mnistColumns, type Batch } from '../data/batches.js';
import { Dataset } from './dataset.js';
import { matchFiles } from './files.js';
import type { BatchStream } from './batch-stream.js';
import { shuffleThenRepeat } from './order.js';
import { randomSeed } from './random.js';

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
        await writer.write(mnistExample(split.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS), split.labels[i]));
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

export interface MnistTFRecordBatchOptions {
  batchSize: number;
  /** Seed of the shuffle (and so of the batch order); default random. */
  seed?: number;
  /** Shuffle buffer in examples (TF's buffer_size); default 10,000; 1 = no shuffle. */
  shuffleBuffer?: number;
  /** Passes over the records; default: forever. */
  epochs?: number;
  /** Drop a last short batch when the epochs run out (default false). */
  dropRemainder?: boolean;
}

/**
 * Training batches from the book's TFRecord files: the shards are read interleaved
 * (`Dataset.tfRecord` + `interleave`, cycle length = number of files) and parsed once into memory
 * (tf.data's `map(parse).cache()`; MNIST's 55,000 records are ≈47 MB); then every epoch goes
 * through a seeded shuffle buffer (a new order each epoch), and batches of pixels in [0, 1] follow.
 * The same stream as `Dataset.tfRecord(…).map(parse).shuffle(buffer, {seed}).repeat().batch(n)`.
 */
export async function mnistTFRecordBatches(pattern: string | string[], opts: MnistTFRecordBatchOptions): Promise<BatchStream<Batch>> {
  const files = matchFiles(pattern);
  const records = await Dataset.fromArray(files)
    .interleave((file) => parsedRecords(file), { cycleLength: files.length })
    .toArray();
  if (records.length === 0) throw fileError(files.join(', '), 'no records');
  const order = shuffleThenRepeat(records.length, opts.shuffleBuffer ?? 10_000, opts.seed ?? randomSeed(), opts.epochs);
  return mnistBatchStream(collateMnist(records), order, opts.batchSize, { dropRemainder: opts.dropRemainder });
}

/** Parsed records as one batch: pixels scaled to [0, 1], int32 labels. */
export function collateMnist(records: readonly MnistRecord[]): Batch {
  const images = new Uint8Array(records.length * IMAGE_PIXELS);
  records.forEach((r, i) => images.set(r.image, i * IMAGE_PIXELS));
  return mnistColumns(images, Int32Array.from(records, (r) => r.label));
}

/** One file's records, parsed; errors name the file and the record. */
function parsedRecords(file: string): Dataset<MnistRecord> {
  let index = 0;
  return Dataset.tfRecord(file).map((bytes) => {
    const source = `${file}: record ${index++}`;
    const record = parseMnistExample(bytes, source);
    if (record.image.length !== IMAGE_PIXELS) throw fileError(source, `${record.image.length} pixels, expected ${IMAGE_PIXELS}`);
    return record;
  });
}
