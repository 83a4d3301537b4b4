import { Random } from '../util/random.js';
import { UserError } from '../errors.js';

/**
 * tf.data's shuffle buffer: fill it with the first `size` elements; from then on each new element
 * takes the place of a randomly drawn buffered one, which goes out; at the end of the input the
 * rest is drawn at random. `size` ≥ the number of elements gives a full shuffle.
 * Dataset.shuffle and the in-memory orders (order.ts) both draw through this class, so the same
 * seed gives the same order in both.
 */
export class ShuffleBuffer<T> {
  private readonly items: T[] = [];

  constructor(
    readonly size: number,
    private readonly random: Random,
  ) {
    if (!(size >= 1)) throw new UserError(`shuffle: buffer size must be at least 1, got ${size}`);
  }

  get length(): number {
    return this.items.length;
  }

  get full(): boolean {
    return this.items.length >= this.size;
  }

  /** While the buffer is filling. */
  add(x: T): void {
    this.items.push(x);
  }

  /** Once it is full: `x` goes in, a random buffered element comes out. */
  swap(x: T): T {
    const i = this.random.int(this.items.length);
    const out = this.items[i];
    this.items[i] = x;
    return out;
  }

  /** After the input ended: a random buffered element comes out (the buffer must not be empty). */
  take(): T {
    const i = this.random.int(this.items.length);
    const out = this.items[i];
    this.items[i] = this.items[this.items.length - 1];
    this.items.pop();
    return out;
  }
}
