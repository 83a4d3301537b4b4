import { BatchStream } from '../pipeline/batch-stream.js';
import { permutedEpochs } from '../pipeline/order.js';
import type { MnistSplit } from './mnist.js';

export interface Batch {
  /** batchSize × 784 pixels in [0, 1]. Reused between calls: copy it if you keep it. */
  images: Float32Array;
  labels: Int32Array;
}

/** MNIST images and labels as the pipeline's columns: pixels scaled to [0, 1] like read_data_sets. */
export function mnistColumns(images: Uint8Array, labels: ArrayLike<number>): Batch {
  const pixels = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) pixels[i] = images[i] / 255;
  return { images: pixels, labels: Int32Array.from(labels) };
}

/**
 * `next_batch` of TensorFlow's DataSet: the split is reshuffled at the start of every epoch
 * (reproducibly from the seed) and served in batches; a batch that would cross the end of an
 * epoch takes the rest of it and continues in the next, reshuffled one, as TensorFlow does.
 */
export class BatchIterator {
  private readonly stream: BatchStream<Batch>;

  constructor(
    split: MnistSplit,
    readonly batchSize: number,
    seed: number,
  ) {
    this.stream = new BatchStream(mnistColumns(split.images, split.labels), split.count, permutedEpochs(split.count, seed), batchSize);
  }

  /** Skips `steps` batches (to resume a run at its global step with the same data order). */
  skip(steps: number): void {
    this.stream.skip(steps);
  }

  next(): Batch {
    return this.stream.next()!;
  }
}
