import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchStream } from '../../src/pipeline/batch-stream.js';
import { permutedEpochs, repeatThenShuffle, shuffleThenRepeat, type ExampleOrder } from '../../src/pipeline/order.js';
import { ShuffleBuffer } from '../../src/pipeline/shuffle-buffer.js';
import { Dataset } from '../../src/pipeline/dataset.js';
import { Random } from '../../src/util/random.js';
import { deriveSeed } from '../../src/pipeline/random.js';
import { UserError } from '../../src/errors.js';

const draw = (order: ExampleOrder, n: number) => Array.from({ length: n }, () => order.next());
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('ShuffleBuffer: size 1 keeps the order; an element leaves no earlier than size − 1 places ahead', () => {
  const run = (size: number, n: number) => {
    const buffer = new ShuffleBuffer<number>(size, new Random(9));
    const out: number[] = [];
    for (const x of range(n)) {
      if (buffer.full) out.push(buffer.swap(x));
      else buffer.add(x);
    }
    while (buffer.length) out.push(buffer.take());
    return out;
  };
  assert.deepEqual(run(1, 10), range(10));
  const small = run(5, 100);
  assert.deepEqual(sorted(small), range(100));
  small.forEach((v, pos) => assert.ok(v <= pos + 4, `${v} at ${pos}`));
  assert.notDeepEqual(small, range(100));
  assert.throws(() => new ShuffleBuffer(0, new Random(1)), UserError);
});

test('permutedEpochs: every epoch a new permutation, the same for the same seed', () => {
  const order = permutedEpochs(10, 7);
  const [e1, e2] = [draw(order, 10), draw(order, 10)];
  assert.deepEqual(sorted(e1), range(10));
  assert.deepEqual(sorted(e2), range(10));
  assert.notDeepEqual(e1, e2);
  assert.deepEqual(draw(permutedEpochs(10, 7), 20), [...e1, ...e2]);
  assert.notDeepEqual(draw(permutedEpochs(10, 8), 10), e1);
});

test('shuffleThenRepeat: epochs never mix, a new order each; repeatThenShuffle spans epochs', () => {
  const order = shuffleThenRepeat(20, 5, 3, 3);
  const epochs = [draw(order, 20), draw(order, 20), draw(order, 20)];
  for (const e of epochs) assert.deepEqual(sorted(e), range(20));
  assert.notDeepEqual(epochs[0], epochs[1]);
  assert.equal(order.next(), -1);
  assert.deepEqual(draw(shuffleThenRepeat(6, 1, 3, 2), 12), [...range(6), ...range(6)]);
  // a buffer larger than the data set, over the repeated stream: the first 20 draws hold repeats
  const spanning = draw(repeatThenShuffle(10, 20, 1), 20);
  assert.ok(new Set(spanning).size < 20);
  assert.ok(spanning.every((i) => i >= 0 && i < 10));
});

test('the in-memory orders are the Dataset transformations of the same names, draw for draw', async () => {
  const items = Dataset.fromArray(range(23));
  assert.deepEqual(await items.shuffle(7, { seed: 11 }).repeat(3).toArray(), draw(shuffleThenRepeat(23, 7, 11, 3), 69));
  // Dataset.shuffle seeds its pass p with deriveSeed(seed, p); repeatThenShuffle takes its seed as is (the sine book runs')
  assert.deepEqual(await items.repeat().shuffle(7, { seed: 11 }).take(60).toArray(), draw(repeatThenShuffle(23, 7, deriveSeed(11, 0)), 60));
});

test('BatchStream: rows of every column, reused arrays, a short or dropped last batch', () => {
  const columns = { x: Float32Array.from(range(12), (v) => v / 2), label: Int32Array.from(range(6)) };
  const stream = new BatchStream(columns, 6, shuffleThenRepeat(6, 1, 0, 1), 4);
  const first = stream.next()!;
  assert.deepEqual(first, { x: Float32Array.of(0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5), label: Int32Array.of(0, 1, 2, 3) });
  const last = stream.next()!;
  assert.deepEqual(last, { x: Float32Array.of(4, 4.5, 5, 5.5), label: Int32Array.of(4, 5) });
  assert.equal(stream.next(), undefined);
  const dropping = new BatchStream(columns, 6, shuffleThenRepeat(6, 1, 0, 1), 4, { dropRemainder: true });
  const a = dropping.next();
  assert.equal(dropping.next(), undefined);
  const endless = new BatchStream(columns, 6, permutedEpochs(6, 1), 4);
  assert.equal(endless.next(), endless.next()); // the same arrays, refilled
  assert.ok(a);
  assert.throws(() => new BatchStream({ x: new Float32Array(7) }, 6, permutedEpochs(6, 1), 4), /7 values, not a multiple of 6/);
  assert.throws(() => new BatchStream({ x: new Float32Array(0) }, 0, permutedEpochs(0, 1), 4), /empty/);
});

test('BatchStream.skip(k) is the state after k batches, for every order', () => {
  const columns = { v: Int32Array.from(range(37)) };
  const orders = [() => permutedEpochs(37, 2), () => shuffleThenRepeat(37, 8, 2), () => repeatThenShuffle(37, 8, 2)];
  for (const [o, make] of orders.entries()) {
    for (const k of [0, 1, 5, 12]) {
      const drawn = new BatchStream(columns, 37, make(), 10);
      for (let i = 0; i < k; i++) drawn.next();
      const skipped = new BatchStream(columns, 37, make(), 10);
      skipped.skip(k);
      for (let i = 0; i < 4; i++) assert.deepEqual(skipped.next(), drawn.next(), `order ${o}, skip ${k}, batch ${i}`);
    }
  }
});
