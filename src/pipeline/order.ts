/**
 * The order in which a training run sees the examples of an in-memory set: a stream of example
 * indices built like tf.data from a range, shuffles and repeat. Seeded and deterministic, so a
 * resumed run that draws (and drops) k batches' worth of indices is where the first run was after
 * k batches.
 */
import { Random } from '../util/random.js';
import { deriveSeed } from './random.js';
import { ShuffleBuffer } from './shuffle-buffer.js';

export interface ExampleOrder {
  /** The next example's index, or -1 once the order has ended. */
  next(): number;
}

const END = -1;

/** The indices of `order`, once. */
class Sequence implements ExampleOrder {
  private position = 0;

  constructor(private readonly order: ArrayLike<number>) {}

  next(): number {
    return this.position < this.order.length ? this.order[this.position++] : END;
  }
}

/** `epochs` passes, pass p drawn from makePass(p) (tf.data repeat). An empty pass ends it. */
class Repeat implements ExampleOrder {
  private pass = 0;
  private current: ExampleOrder;
  private passIsEmpty = true;

  constructor(
    private readonly makePass: (pass: number) => ExampleOrder,
    private readonly epochs: number,
  ) {
    this.current = epochs > 0 ? makePass(0) : new Sequence([]);
  }

  next(): number {
    for (;;) {
      const i = this.current.next();
      if (i !== END) {
        this.passIsEmpty = false;
        return i;
      }
      if (this.passIsEmpty || ++this.pass >= this.epochs) {
        this.current = new Sequence([]);
        return END;
      }
      this.current = this.makePass(this.pass);
      this.passIsEmpty = true;
    }
  }
}

/** The upstream order through a ShuffleBuffer (tf.data shuffle). */
class Shuffled implements ExampleOrder {
  private readonly buffer: ShuffleBuffer<number>;
  private upstreamEnded = false;

  constructor(
    private readonly upstream: ExampleOrder,
    bufferSize: number,
    random: Random,
  ) {
    this.buffer = new ShuffleBuffer(bufferSize, random);
  }

  next(): number {
    while (!this.upstreamEnded) {
      const i = this.upstream.next();
      if (i === END) this.upstreamEnded = true;
      else if (!this.buffer.full) this.buffer.add(i);
      else return this.buffer.swap(i);
    }
    return this.buffer.length ? this.buffer.take() : END;
  }
}

/** 0, 1, …, count − 1, over and over. */
class Cycle implements ExampleOrder {
  private position = 0;

  constructor(private readonly count: number) {}

  next(): number {
    if (this.count === 0) return END;
    const i = this.position;
    this.position = i + 1 === this.count ? 0 : i + 1;
    return i;
  }
}

class PermutedEpochs implements ExampleOrder {
  private readonly order: Uint32Array;
  private position: number;

  constructor(
    count: number,
    private readonly random: Random,
  ) {
    this.order = range(count);
    this.position = count;
  }

  next(): number {
    if (this.position === this.order.length) {
      if (this.order.length === 0) return END;
      this.random.shuffle(this.order);
      this.position = 0;
    }
    return this.order[this.position++];
  }
}

const range = (count: number) => Uint32Array.from({ length: count }, (_, i) => i);

/**
 * TensorFlow's `DataSet.next_batch` order (the IDX trainers): every epoch a Fisher–Yates shuffle of
 * the previous epoch's order, all from one generator seeded with `seed`. Endless.
 */
export function permutedEpochs(count: number, seed: number): ExampleOrder {
  return new PermutedEpochs(count, new Random(seed));
}

/**
 * tf.data `shuffle(bufferSize).repeat(epochs)` (the TFRecord trainer): each epoch goes through a
 * fresh buffer seeded with deriveSeed(seed, epoch), which drains at the end of the epoch, so epochs
 * never mix. A buffer of 1 (or less) keeps the stored order.
 */
export function shuffleThenRepeat(count: number, bufferSize: number, seed: number, epochs = Infinity): ExampleOrder {
  const order = range(count);
  return new Repeat(
    (pass) => (bufferSize > 1 ? new Shuffled(new Sequence(order), bufferSize, new Random(deriveSeed(seed, pass))) : new Sequence(order)),
    epochs,
  );
}

/**
 * tf.data `repeat().shuffle(bufferSize)` (the sine LSTM): one buffer, seeded with `seed`, over the
 * endless repeated examples, so it spans epoch boundaries.
 */
export function repeatThenShuffle(count: number, bufferSize: number, seed: number): ExampleOrder {
  return new Shuffled(new Cycle(count), bufferSize, new Random(seed));
}
