import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUGMENT_PRESETS, Augmenter, augmentBatches } from '../../src/data/augment.js';
import { BatchIterator } from '../../src/data/batches.js';
import { loadMnist } from '../../src/data/mnist.js';

const digits = loadMnist({ limit: 200 }).test;
const batches = () => new BatchIterator(digits, 50, 3);

function centreOfMass(img: Float32Array): [number, number, number] {
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < 784; i++) {
    mass += img[i];
    mx += img[i] * (i % 28);
    my += img[i] * Math.floor(i / 28);
  }
  return [mx / mass, my / mass, mass];
}

test('no distortion asked → images come out unchanged', () => {
  const batch = batches().next();
  const out = new Augmenter({ maxShift: 0, maxRotation: 0, maxScale: 0 }, 1).apply(batch.images, 50);
  for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - batch.images[i]) < 1e-6);
});

for (const kind of ['affine', 'light', 'elastic'] as const) {
  test(`${kind}: shapes and labels kept, pixels moved, digits stay digit-like`, async () => {
    const source = batches();
    const next = augmentBatches(() => source.next(), AUGMENT_PRESETS[kind], 7);
    const reference = batches().next();
    const originalImages = reference.images.slice();
    const originalLabels = reference.labels.slice();
    const out = await next();
    assert.equal(out.images.length, 50 * 784);
    assert.deepEqual(out.labels, originalLabels);
    let changed = 0;
    for (let n = 0; n < 50; n++) {
      const a = originalImages.subarray(n * 784, (n + 1) * 784);
      const b = out.images.subarray(n * 784, (n + 1) * 784);
      let diff = 0;
      for (let i = 0; i < 784; i++) diff += Math.abs(a[i] - b[i]);
      if (diff > 5) changed++;
      const [ax, ay, am] = centreOfMass(a);
      const [bx, by, bm] = centreOfMass(b);
      // Shift ≤ 2 px each way plus rotation/scale/elastic drift around the image centre.
      assert.ok(Math.hypot(bx - ax, by - ay) < 6, `image ${n}: centre moved ${Math.hypot(bx - ax, by - ay)} px`);
      assert.ok(bm > 0.6 * am && bm < 1.5 * am, `image ${n}: ink ${am} → ${bm}`);
      assert.ok(b.every((v) => v >= 0 && v <= 1));
    }
    assert.ok(changed >= 45, `${changed} of 50 images changed`);
  });

  test(`${kind}: seeded — same seed, same distortions; another seed, others`, () => {
    const batch = batches().next();
    const a = new Augmenter(AUGMENT_PRESETS[kind], 42).apply(batch.images, 50);
    const b = new Augmenter(AUGMENT_PRESETS[kind], 42).apply(batch.images, 50);
    const c = new Augmenter(AUGMENT_PRESETS[kind], 43).apply(batch.images, 50);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
}

for (const kind of ['affine', 'elastic'] as const) {
  test(`${kind}: batch n of a stream started at step k is batch k + n of one started at 0 (resume)`, async () => {
    const batch = batches().next();
    const source = () => ({ images: batch.images, labels: batch.labels });
    const fromStart = augmentBatches(source, AUGMENT_PRESETS[kind], 11);
    const straight: Float32Array[] = [];
    for (let i = 0; i < 4; i++) straight.push((await fromStart()).images.slice());
    const resumed = augmentBatches(source, AUGMENT_PRESETS[kind], 11, 2);
    assert.deepEqual((await resumed()).images, straight[2]);
    assert.deepEqual((await resumed()).images, straight[3]);
    assert.notDeepEqual(straight[2], straight[3]);
  });
}

test('the elastic field alone (no shift, rotation or scale) moves pixels by about a pixel or two', () => {
  const batch = batches().next();
  const elastic = new Augmenter({ maxShift: 0, maxRotation: 0, maxScale: 0, elastic: AUGMENT_PRESETS.elastic.elastic }, 5).apply(batch.images, 50);
  let diff = 0;
  for (let i = 0; i < elastic.length; i++) diff += Math.abs(batch.images[i] - elastic[i]);
  assert.ok(diff / 50 > 10, `mean per-image difference ${diff / 50}`);
});
