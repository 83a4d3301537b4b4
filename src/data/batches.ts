import { Random } from '../util/random.js';
import { IMAGE_PIXELS, type MnistSplit } from './mnist.js';

export interface Batch {
  /** batchSize × 784 pixels in [0, 1]. Reused between calls: copy it if you keep it. */
  images: Float32Array;
  labels: Int32Array;
}

/**
 * `next_batch` of TensorFlow's DataSet: the split is reshuffled at the start of every epoch
 * (reproducibly from the seed) and served in batches; a batch that would cross the end of an
 * epoch takes the rest of it and continues in the next, reshuffled one, as TensorFlow does.
 */
export class BatchIterator {
  private readonly pixels: Float32Array;
  private readonly order: Uint32Array;
  private readonly random: Random;
  private position: number;
  private readonly batch: Batch;
  epoch = 0;

  constructor(
    private readonly split: MnistSplit,
    readonly batchSize: number,
    seed: number,
  ) {
    if (split.count === 0) throw new Error('cannot batch an empty data set');
    this.pixels = new Float32Array(split.images.length);
    for (let i = 0; i < split.images.length; i++) this.pixels[i] = split.images[i] / 255;
    this.order = new Uint32Array(split.count).map((_, i) => i);
    this.random = new Random(seed);
    this.random.shuffle(this.order);
    this.position = 0;
    this.batch = { images: new Float32Array(batchSize * IMAGE_PIXELS), labels: new Int32Array(batchSize) };
  }

  /** Skips `steps` batches (to resume a run at its global step with the same data order). */
  skip(steps: number): void {
    for (let s = 0; s < steps; s++) this.advance(() => undefined);
  }

  next(): Batch {
    this.advance((row, index) => {
      this.batch.images.set(this.pixels.subarray(index * IMAGE_PIXELS, (index + 1) * IMAGE_PIXELS), row * IMAGE_PIXELS);
      this.batch.labels[row] = this.split.labels[index];
    });
    return this.batch;
  }

  private advance(take: (row: number, index: number) => void): void {
    for (let row = 0; row < this.batchSize; row++) {
      if (this.position === this.order.length) {
        this.random.shuffle(this.order);
        this.position = 0;
        this.epoch++;
      }
      take(row, this.order[this.position++]);
    }
  }
}
