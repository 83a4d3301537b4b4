/**
 * A small tf.data: lazy, composable, async-iterable datasets of plain JS values.
 *
 * Every `for await (… of ds)` (or `ds[Symbol.asyncIterator]()`) starts a new pass over the data —
 * the re-initialisable iterator. Shuffles draw a fresh order for each pass from a seed derived from
 * (seed, pass number), so a pipeline built the same way replays the same sequence of epochs.
 */
import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import { readTFRecords, type TFRecordReadOptions } from '../formats/tfrecord.js';
import { UserError } from '../errors.js';
import { matchFiles } from './files.js';
import { Random } from '../util/random.js';
import { deriveSeed, randomSeed } from './random.js';
import { WorkerPool } from './worker-pool.js';
import { ShuffleBuffer } from './shuffle-buffer.js';

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array;

/** A flat typed array viewed as a tensor of `shape`; slices are along the first axis. */
export interface ShapedArray<A extends TypedArray = TypedArray> {
  values: A;
  shape: number[];
}

export type SliceSource = readonly unknown[] | TypedArray | ShapedArray | { [key: string]: SliceSource };

export type SliceOf<S> =
  S extends ShapedArray<infer A>
    ? A
    : S extends BigInt64Array
      ? bigint
      : S extends TypedArray
        ? number
        : S extends readonly (infer E)[]
          ? E
          : S extends { [key: string]: SliceSource }
            ? { [K in keyof S]: SliceOf<S[K]> }
            : never;

const isTypedArray = (x: unknown): x is TypedArray => ArrayBuffer.isView(x) && !(x instanceof DataView);
const isShaped = (x: unknown): x is ShapedArray =>
  typeof x === 'object' && x !== null && 'values' in x && 'shape' in x && isTypedArray((x as ShapedArray).values);

export interface ShuffleOptions {
  /** Fixed seed: same pipeline, same sequence of orders. Default: a random seed per dataset. */
  seed?: number;
  /** Draw a new order on every pass (default true, like TF's reshuffle_each_iteration). */
  reshuffleEachIteration?: boolean;
}

export interface MapOptions {
  /** How many calls of an async function may run at once (output order is kept). */
  parallelism?: number;
}

export interface ParallelMapOptions {
  /** Worker threads (default: cores − 1, at least 1). */
  parallelism?: number;
  /** Elements in flight at once (default 2 × parallelism). */
  inFlight?: number;
}

export interface InterleaveOptions {
  cycleLength?: number;
  blockLength?: number;
}

export class Dataset<T> implements AsyncIterable<T> {
  constructor(private readonly source: () => AsyncIterator<T>) {}

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.source();
  }

  // ------------------------------------------------------------ sources

  /** Any (async) iterable, re-created by `make` on every pass. */
  static fromGenerator<T>(make: () => Iterable<T> | AsyncIterable<T>): Dataset<T> {
    return new Dataset(() =>
      (async function* () {
        yield* make();
      })(),
    );
  }

  static fromArray<T>(items: readonly T[]): Dataset<T> {
    return Dataset.fromGenerator(() => items);
  }

  /**
   * tf.data.Dataset.from_tensor_slices: slices along the first axis of an array, a typed array
   * (→ numbers), a ShapedArray (→ row subarrays) or a record of those (→ records), all of one length.
   */
  static fromTensorSlices<S extends SliceSource>(data: S): Dataset<SliceOf<S>> {
    const count = sliceCount(data, 'data');
    return Dataset.fromGenerator(function* () {
      for (let i = 0; i < count; i++) yield sliceAt(data, i) as SliceOf<S>;
    });
  }

  /** File names matching the patterns (see matchFiles), optionally shuffled per pass. */
  static fromFiles(patterns: string | readonly string[], opts: { shuffle?: boolean; seed?: number } = {}): Dataset<string> {
    const files = Dataset.fromArray(matchFiles(patterns));
    return opts.shuffle ? files.shuffle(Number.MAX_SAFE_INTEGER, { seed: opts.seed }) : files;
  }

  /** Lines of text files, one file after another (tf.data.TextLineDataset). */
  static textLine(files: string | readonly string[] | Dataset<string>): Dataset<string> {
    return toFileDataset(files).flatMap((file) =>
      Dataset.fromGenerator(() => readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity })),
    );
  }

  /**
   * Records of TFRecord files (tf.data.TFRecordDataset). With `cycleLength` > 1 the files are
   * read interleaved, one record from each in turn.
   */
  static tfRecord(
    files: string | readonly string[] | Dataset<string>,
    opts: TFRecordReadOptions & { cycleLength?: number } = {},
  ): Dataset<Uint8Array> {
    const read = (file: string) => Dataset.fromGenerator(() => readTFRecords(file, opts));
    return toFileDataset(files).interleave(read, { cycleLength: opts.cycleLength ?? 1 });
  }

  // ------------------------------------------------------------ transformations

  private derive<U>(gen: (upstream: Dataset<T>) => AsyncGenerator<U>): Dataset<U> {
    return new Dataset(() => gen(this));
  }

  /** Applies `fn` to each element; async functions may overlap up to `parallelism` (order kept). */
  map<U>(fn: (x: T) => U | Promise<U>, opts: MapOptions = {}): Dataset<U> {
    const parallelism = opts.parallelism ?? 1;
    if (parallelism <= 1) {
      return this.derive(async function* (up) {
        for await (const x of up) {
          const y = fn(x);
          // Skip the extra microtask for plain (sync) functions: it is most of a cheap map's cost.
          yield y instanceof Promise ? await y : (y as U);
        }
      });
    }
    return this.derive((up) => orderedMap(up, (x) => Promise.resolve().then(() => fn(x)), parallelism));
  }

  /**
   * Maps on worker threads: each worker imports `moduleUrl` and calls its export `fnName`
   * (elements and results are structured-cloned; typed-array results are transferred).
   * Output order equals input order. The workers live for one pass and end with it.
   */
  mapParallel<U>(moduleUrl: string | URL, fnName: string, opts: ParallelMapOptions = {}): Dataset<U> {
    return this.derive(async function* (up) {
      const pool = new WorkerPool<T, U>(moduleUrl, fnName, opts.parallelism);
      try {
        yield* orderedMap(up, (x) => pool.run(x), opts.inFlight ?? 2 * pool.size);
      } finally {
        await pool.close();
      }
    });
  }

  filter(predicate: (x: T) => boolean | Promise<boolean>): Dataset<T> {
    return this.derive(async function* (up) {
      for await (const x of up) if (await predicate(x)) yield x;
    });
  }

  /** One dataset per element, concatenated (flat_map). */
  flatMap<U>(fn: (x: T) => AsyncIterable<U> | Iterable<U>): Dataset<U> {
    return this.derive(async function* (up) {
      for await (const x of up) yield* fn(x);
    });
  }

  /** TF's buffered shuffle (see ShuffleBuffer); bufferSize ≥ dataset size = full shuffle. */
  shuffle(bufferSize: number, opts: ShuffleOptions = {}): Dataset<T> {
    if (!(bufferSize >= 1)) throw new UserError(`shuffle: buffer size must be at least 1, got ${bufferSize}`);
    const base = opts.seed ?? randomSeed();
    const reshuffle = opts.reshuffleEachIteration ?? true;
    let pass = 0;
    return this.derive(async function* (up) {
      const buffer = new ShuffleBuffer<T>(bufferSize, new Random(deriveSeed(base, reshuffle ? pass++ : 0)));
      for await (const x of up) {
        if (buffer.full) yield buffer.swap(x);
        else buffer.add(x);
      }
      while (buffer.length) yield buffer.take();
    });
  }

  /** Groups consecutive elements into arrays of `size`; the last may be short unless dropRemainder. */
  batch(size: number, opts: { dropRemainder?: boolean } = {}): Dataset<T[]> {
    if (!(size >= 1)) throw new UserError(`batch: size must be at least 1, got ${size}`);
    return this.derive(async function* (up) {
      let batch: T[] = [];
      for await (const x of up) {
        batch.push(x);
        if (batch.length === size) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length && !opts.dropRemainder) yield batch;
    });
  }

  /** Passes over the data `count` times (forever when omitted); each pass is a new iteration. */
  repeat(count = Infinity): Dataset<T> {
    return this.derive(async function* (up) {
      for (let i = 0; i < count; i++) {
        let any = false;
        for await (const x of up) {
          any = true;
          yield x;
        }
        if (!any) return; // an empty dataset repeated forever is still empty
      }
    });
  }

  take(n: number): Dataset<T> {
    return this.derive(async function* (up) {
      if (n <= 0) return;
      let i = 0;
      for await (const x of up) {
        yield x;
        if (++i >= n) return;
      }
    });
  }

  skip(n: number): Dataset<T> {
    return this.derive(async function* (up) {
      let i = 0;
      for await (const x of up) if (i++ >= n) yield x;
    });
  }

  /**
   * Reads up to `n` elements ahead of the consumer, so producing the next element overlaps with
   * using the current one.
   */
  prefetch(n: number): Dataset<T> {
    return this.derive(async function* (up) {
      const it = up[Symbol.asyncIterator]();
      const ahead: Array<Promise<IteratorResult<T>>> = [];
      const pull = () => {
        const p = it.next();
        p.catch(() => {}); // observed when its turn comes
        ahead.push(p);
      };
      try {
        for (let i = 0; i < Math.max(1, n); i++) pull();
        for (;;) {
          const r = await ahead.shift()!;
          if (r.done) return;
          pull();
          yield r.value;
        }
      } finally {
        await it.return?.();
      }
    });
  }

  /**
   * tf.data interleave: keeps `cycleLength` inner datasets open and takes `blockLength` elements
   * from each in turn; an exhausted one is replaced by the next input element's dataset.
   */
  interleave<U>(fn: (x: T) => AsyncIterable<U>, opts: InterleaveOptions = {}): Dataset<U> {
    const cycleLength = opts.cycleLength ?? 1;
    const blockLength = opts.blockLength ?? 1;
    return this.derive(async function* (up) {
      const input = up[Symbol.asyncIterator]();
      const slots: Array<AsyncIterator<U> | undefined> = new Array(cycleLength).fill(undefined);
      let open = 0;
      let endOfInput = false;
      let cycle = 0;
      let block = 0;
      const advance = () => {
        block = 0;
        cycle = (cycle + 1) % cycleLength;
      };
      try {
        while (!endOfInput || open > 0) {
          const slot = slots[cycle];
          if (slot) {
            const r = await slot.next();
            if (!r.done) {
              if (++block === blockLength) advance();
              yield r.value;
              continue;
            }
            slots[cycle] = undefined;
            open--;
            advance();
          } else if (!endOfInput) {
            const r = await input.next();
            if (r.done) endOfInput = true;
            else {
              slots[cycle] = fn(r.value)[Symbol.asyncIterator]();
              open++;
            }
          } else {
            advance();
          }
        }
      } finally {
        await Promise.all(slots.map((s) => s?.return?.()));
        await input.return?.();
      }
    });
  }

  // ------------------------------------------------------------ sinks

  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const x of this) out.push(x);
    return out;
  }

  async forEach(fn: (x: T) => void | Promise<void>): Promise<void> {
    for await (const x of this) await fn(x);
  }
}

/** Keeps up to `width` calls in flight and yields their results in input order. */
async function* orderedMap<T, U>(up: AsyncIterable<T>, start: (x: T) => Promise<U>, width: number): AsyncGenerator<U> {
  const inFlight: Array<Promise<U>> = [];
  for await (const x of up) {
    const p = start(x);
    p.catch(() => {}); // a failure surfaces when its turn to be yielded comes
    inFlight.push(p);
    if (inFlight.length >= width) yield await inFlight.shift()!;
  }
  while (inFlight.length) yield await inFlight.shift()!;
}

function toFileDataset(files: string | readonly string[] | Dataset<string>): Dataset<string> {
  return files instanceof Dataset ? files : Dataset.fromFiles(files);
}

function sliceCount(data: SliceSource, name: string): number {
  if (Array.isArray(data) || isTypedArray(data)) return data.length;
  if (isShaped(data)) {
    const rows = data.shape[0] ?? 0;
    const rowSize = data.shape.slice(1).reduce((a, b) => a * b, 1);
    if (rows * rowSize !== data.values.length) {
      throw new UserError(`fromTensorSlices: ${name} has ${data.values.length} values, shape [${data.shape}] needs ${rows * rowSize}`);
    }
    return rows;
  }
  const counts = Object.entries(data as Record<string, SliceSource>).map(([k, v]) => [k, sliceCount(v, k)] as const);
  if (counts.length === 0) return 0;
  const n = counts[0][1];
  const odd = counts.find(([, c]) => c !== n);
  if (odd) throw new UserError(`fromTensorSlices: ${counts[0][0]} has ${n} slices but ${odd[0]} has ${odd[1]}`);
  return n;
}

function sliceAt(data: SliceSource, i: number): unknown {
  if (Array.isArray(data) || isTypedArray(data)) return (data as ArrayLike<unknown>)[i];
  if (isShaped(data)) {
    const rowSize = data.shape.slice(1).reduce((a, b) => a * b, 1);
    return data.values.slice(i * rowSize, (i + 1) * rowSize);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data as Record<string, SliceSource>)) out[k] = sliceAt(v, i);
  return out;
}
