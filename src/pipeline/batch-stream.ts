/**
 * The trainers' feed: examples held in memory as columns (one typed array each, `count` rows of a
 * fixed size), served in the order of an ExampleOrder as batches of `batchSize` rows.
 * Synchronous, with no new arrays per batch: a training step takes about a millisecond, so the
 * feed is plain index arithmetic and row copies into arrays that are reused between calls.
 */
import type { ExampleOrder } from './order.js';

export type NumericArray = Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** Column name → values of all examples, row after row (e.g. `{ images, labels }`). */
export type ExampleColumns<C> = { [K in keyof C]: NumericArray };

export interface BatchStreamOptions<C> {
  /** Leave out a last short batch when a finite order ends (default false). */
  dropRemainder?: boolean;
  /** A column's batch array type where it differs from the stored one (e.g. labels kept as bytes, batched as int32). */
  batchTypes?: { [K in keyof C]?: new (length: number) => C[K] };
}

/** Batches of type C (column name → typed array of batchSize rows). */
export class BatchStream<C extends ExampleColumns<C>> {
  // Per column (parallel arrays: the row loop below is the trainers' hot path).
  private readonly values: NumericArray[] = [];
  private readonly rowSizes: number[] = [];
  private readonly outs: NumericArray[] = [];
  private readonly batch: C;
  private readonly dropRemainder: boolean;

  constructor(
    examples: ExampleColumns<C>,
    count: number,
    private readonly order: ExampleOrder,
    readonly batchSize: number,
    opts: BatchStreamOptions<C> = {},
  ) {
    if (count <= 0) throw new Error('cannot batch an empty data set');
    if (!(batchSize >= 1)) throw new Error(`batch size must be at least 1, got ${batchSize}`);
    this.dropRemainder = opts.dropRemainder ?? false;
    const batch: Record<string, NumericArray> = {};
    for (const [name, values] of Object.entries<NumericArray>(examples)) {
      const rowSize = values.length / count;
      if (!Number.isInteger(rowSize)) throw new Error(`column ${name} has ${values.length} values, not a multiple of ${count} examples`);
      const type = (opts.batchTypes as Record<string, (new (length: number) => NumericArray) | undefined> | undefined)?.[name];
      batch[name] = new (type ?? (values.constructor as new (length: number) => NumericArray))(batchSize * rowSize);
      this.values.push(values);
      this.rowSizes.push(rowSize);
      this.outs.push(batch[name]);
    }
    this.batch = batch as unknown as C;
  }

  /**
   * The next batch, in arrays that the following call overwrites (copy what you keep). When a finite
   * order ends, the rows left over form a last, shorter batch (unless dropRemainder); then undefined.
   */
  next(): C | undefined {
    const { values, rowSizes, outs } = this;
    for (let row = 0; row < this.batchSize; row++) {
      const index = this.order.next();
      if (index < 0) return this.remainder(row);
      for (let c = 0; c < values.length; c++) {
        const rowSize = rowSizes[c];
        if (rowSize === 1) outs[c][row] = values[c][index];
        else outs[c].set(values[c].subarray(index * rowSize, (index + 1) * rowSize), row * rowSize);
      }
    }
    return this.batch;
  }

  /** Moves on by `batches` batches without copying any rows (to resume a run at its step). */
  skip(batches: number): void {
    for (let n = batches * this.batchSize; n > 0; n--) if (this.order.next() < 0) return;
  }

  private remainder(rows: number): C | undefined {
    if (rows === 0 || this.dropRemainder) return undefined;
    const short: Record<string, NumericArray> = {};
    for (const [name, out] of Object.entries<NumericArray>(this.batch)) short[name] = out.subarray(0, (out.length / this.batchSize) * rows);
    return short as unknown as C;
  }
}
