import { BatchStream } from '../pipeline/batch-stream.js';
import { repeatThenShuffle } from '../pipeline/order.js';

/** The book's constants (seed 002 §8.4). */
export const SINE_BOOK = {
  hiddenSize: 30,
  numLayers: 2,
  timeSteps: 10,
  trainingSteps: 11000,
  batchSize: 32,
  trainingExamples: 10000,
  testingExamples: 1000,
  sampleGap: 0.01,
  shuffleBuffer: 1000,
  learningRate: 0.1,
} as const;

/** Windows of a series: x[i] = seq[i .. i+T), y[i] = seq[i+T]; `count` = seq.length - T. */
export interface WindowedData {
  x: Float32Array;
  y: Float32Array;
  count: number;
  timeSteps: number;
}

/**
 * np.linspace(start, stop, num, dtype=np.float32): computed in float64 as start + i·step (the last
 * point set to stop exactly), then rounded to float32.
 */
export function linspaceFloat32(start: number, stop: number, num: number): Float32Array {
  const out = new Float32Array(num);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** np.sin of a float32 array (float32 result). */
export function sinFloat32(xs: Float32Array): Float32Array {
  return xs.map((v) => Math.sin(v));
}

/** The book's generate_data(seq). */
export function generateData(seq: Float32Array, timeSteps: number): WindowedData {
  const count = Math.max(0, seq.length - timeSteps);
  const x = new Float32Array(count * timeSteps);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    x.set(seq.subarray(i, i + timeSteps), i * timeSteps);
    y[i] = seq[i + timeSteps];
  }
  return { x, y, count, timeSteps };
}

export interface SineData {
  train: WindowedData;
  test: WindowedData;
  trainEnd: number;
  testEnd: number;
}

/**
 * The book's data: one sampled stretch of sin for training, the next for testing.
 *   train_end = (TRAINING_EXAMPLES + TIMESTEPS) · SAMPLE_GAP
 *   test_end  = train_end + (TESTING_EXAMPLES + TIMESTEPS) · SAMPLE_GAP
 *   train: sin(linspace(0, train_end, TRAINING_EXAMPLES + TIMESTEPS))
 *   test:  sin(linspace(train_end, test_end, TESTING_EXAMPLES + TIMESTEPS))
 * (linspace includes both ends, so the spacing is a little over 0.01 and the test range starts
 * at the training range's last point.)
 */
export function bookSineData(opts: { trainingExamples?: number; testingExamples?: number; timeSteps?: number; sampleGap?: number } = {}): SineData {
  const trainingExamples = opts.trainingExamples ?? SINE_BOOK.trainingExamples;
  const testingExamples = opts.testingExamples ?? SINE_BOOK.testingExamples;
  const timeSteps = opts.timeSteps ?? SINE_BOOK.timeSteps;
  const gap = opts.sampleGap ?? SINE_BOOK.sampleGap;
  const trainEnd = (trainingExamples + timeSteps) * gap;
  const testEnd = trainEnd + (testingExamples + timeSteps) * gap;
  const train = generateData(sinFloat32(linspaceFloat32(0, trainEnd, trainingExamples + timeSteps)), timeSteps);
  const test = generateData(sinFloat32(linspaceFloat32(trainEnd, testEnd, testingExamples + timeSteps)), timeSteps);
  return { train, test, trainEnd, testEnd };
}

/** x: [batch, T] windows, y: [batch] next values. */
export interface SineBatch {
  x: Float32Array;
  y: Float32Array;
}

/**
 * dataset.repeat().shuffle(buffer).batch(n) of tf.data: an endless stream of examples (epoch
 * after epoch) drawn through a shuffle buffer — fill the buffer, then each draw takes a random slot
 * and refills it with the next example. Because repeat() comes first, the buffer spans epochs.
 */
export class ShuffledBatches {
  private readonly stream: BatchStream<SineBatch>;

  constructor(
    data: WindowedData,
    readonly batchSize: number,
    bufferSize: number,
    seed: number,
  ) {
    this.stream = new BatchStream<SineBatch>({ x: data.x, y: data.y }, data.count, repeatThenShuffle(data.count, bufferSize, seed), batchSize);
  }

  /** Draws and drops `batches` batches (a resumed run's buffer and stream at its global step). */
  skip(batches: number): void {
    this.stream.skip(batches);
  }

  /** The next batch: x is [batch, T], y is [batch]; the arrays are reused by the next call. */
  next(): SineBatch {
    return this.stream.next()!;
  }
}
