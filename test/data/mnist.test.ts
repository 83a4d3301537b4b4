import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeIdx } from '../../src/data/idx.js';
import { loadMnist } from '../../src/data/mnist.js';
import { BatchIterator } from '../../src/data/batches.js';

test('the bundled MNIST splits 55,000 / 5,000 / 10,000 with validation = the first 5,000', () => {
  const { train, validation, test: testSplit } = loadMnist();
  assert.equal(train.count, 55000);
  assert.equal(validation.count, 5000);
  assert.equal(testSplit.count, 10000);
  assert.equal(train.images.length, 55000 * 784);
  // First training labels of MNIST are 5 0 4 1 9; the 5,001st image (label 1? whatever it is) starts train.
  assert.deepEqual([...validation.labels.subarray(0, 5)], [5, 0, 4, 1, 9]);
  assert.deepEqual([...testSplit.labels.subarray(0, 5)], [7, 2, 1, 0, 4]);
});

function writeDataDir(images: number, labels: number, opts: { badLabel?: boolean; rows?: number; testImages?: number } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mnist-data-'));
  const rows = opts.rows ?? 28;
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), encodeIdx([images, rows, 28], new Uint8Array(images * rows * 28)));
  const l = new Uint8Array(labels).fill(3);
  if (opts.badLabel) l[1] = 12;
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx([labels], l));
  const testImages = opts.testImages ?? 2;
  writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), encodeIdx([testImages, 28, 28], new Uint8Array(testImages * 784)));
  writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([testImages], new Uint8Array(testImages).fill(1)));
  return dir;
}

test('a small data dir keeps a 1/12 validation share; mismatches and bad labels are one-line errors naming the file', () => {
  const ok = loadMnist({ dataDir: writeDataDir(120, 120) });
  assert.equal(ok.validation.count, 10);
  assert.equal(ok.train.count, 110);
  assert.throws(() => loadMnist({ dataDir: writeDataDir(120, 119) }), /train-labels-idx1-ubyte: 119 labels for 120 images/);
  assert.throws(() => loadMnist({ dataDir: writeDataDir(12, 12, { badLabel: true }) }), /train-labels-idx1-ubyte: label 12 at index 1/);
  assert.throws(() => loadMnist({ dataDir: writeDataDir(12, 12, { rows: 27 }) }), /train-images-idx3-ubyte: expected images of 28×28/);
  assert.throws(() => loadMnist({ dataDir: '/nonexistent/dir' }), /\/nonexistent\/dir: no such directory/);
});

test('a data dir too small to split off a validation set, or without test images, is a one-line error naming the file', () => {
  assert.equal(loadMnist({ dataDir: writeDataDir(12, 12, { testImages: 1 }) }).validation.count, 1);
  assert.throws(() => loadMnist({ dataDir: writeDataDir(11, 11) }), /train-images-idx3-ubyte: 11 images, too few: at least 12/);
  assert.throws(() => loadMnist({ dataDir: writeDataDir(0, 0) }), /train-images-idx3-ubyte: 0 images, too few/);
  assert.throws(() => loadMnist({ dataDir: writeDataDir(12, 12, { testImages: 0 }) }), /t10k-images-idx3-ubyte: 0 images, too few/);
});

test('batches cover every example once per epoch, are reproducible by seed and reshuffled per epoch', () => {
  const count = 10;
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) images[i * 784] = i * 10; // tag each image by its first pixel
  const split = { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count };
  const epochOrder = (it: BatchIterator) => {
    const seen: number[] = [];
    for (let b = 0; b < 2; b++) {
      const batch = it.next();
      for (let r = 0; r < 5; r++) seen.push(Math.round(batch.images[r * 784] * 25.5));
    }
    return seen;
  };
  const a = new BatchIterator(split, 5, 7);
  const b = new BatchIterator(split, 5, 7);
  const first = epochOrder(a);
  assert.deepEqual([...first].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(epochOrder(b), first);
  const second = epochOrder(a);
  assert.deepEqual([...second].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(second, first);
  assert.notDeepEqual(epochOrder(new BatchIterator(split, 5, 8)), first);
});

test('validationSize holds out the first N training images, as read_data_sets(validation_size=N); 0 trains on all 60,000', () => {
  const all = loadMnist({ validationSize: 0 });
  assert.equal(all.validation.count, 0);
  assert.equal(all.train.count, 60000);
  assert.deepEqual([...all.train.labels.subarray(0, 5)], [5, 0, 4, 1, 9], 'training starts at the first image');
  const some = loadMnist({ validationSize: 1000 });
  assert.equal(some.validation.count, 1000);
  assert.equal(some.train.count, 59000);
  assert.deepEqual(some.train.labels.subarray(0, 50), all.train.labels.subarray(1000, 1050));
  const small = writeDataDir(120, 120);
  assert.equal(loadMnist({ dataDir: small, validationSize: 119 }).train.count, 1);
  assert.throws(() => loadMnist({ dataDir: small, validationSize: 120 }), /: 120 training images; a validation set of 120 leaves none to train on/);
  assert.throws(() => loadMnist({ dataDir: small, validationSize: -1 }), /validation size -1: expected a whole number ≥ 0/);
  assert.throws(() => loadMnist({ dataDir: small, validationSize: 2.5 }), /validation size 2\.5/);
});
