import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as img from '../../src/image/ops.js';
import { Random } from '../../src/util/random.js';
import { UserError } from '../../src/errors.js';

const t3 = (rows: number[][][]) => tf.tensor3d(rows);
/** [h][w] → [h, w, 1] */
const grey = (rows: number[][]) => tf.tensor3d(rows.map((r) => r.map((v) => [v])));
const values = (x: tf.Tensor) => Array.from(x.dataSync());
function close(actual: tf.Tensor | number[], expected: number[], tol = 1e-5, msg = '') {
  const a = Array.isArray(actual) ? actual : values(actual);
  assert.equal(a.length, expected.length, `${msg} length`);
  a.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tol, `${msg}[${i}]: ${v} vs ${expected[i]}\n${a}`));
}

test('convertImageDtype: TF scaling and rounding rules', () => {
  const u8 = tf.tensor3d([0, 128, 255], [1, 3, 1], 'int32');
  close(img.convertImageDtype(u8, 'float32'), [0, 128 / 255, 1], 1e-7);
  const f = tf.tensor3d([0, 0.5, 1, 0.999, -0.2, 1.3, 0.25], [1, 7, 1]);
  // float → uint8 multiplies by 255.5 and truncates: 0.5 → 127 (not 128), 0.25 → 63
  assert.deepEqual(values(img.convertImageDtype(f, 'uint8')), [0, 127, 255, 255, 0, 255, 63]);
  assert.deepEqual(values(img.convertImageDtype(u8, 'uint16')), [0, 128 * 256, 255 * 256]);
  const u16 = tf.tensor3d([0, 65535, 300], [1, 3, 1], 'int32');
  assert.deepEqual(values(img.convertImageDtype(u16, 'uint8', { from: 'uint16' })), [0, 255, 1]);
  assert.equal(img.convertImageDtype(f, 'float32').dtype, 'float32');
});

test('resize bilinear and nearest use half-pixel centres (TF 2)', () => {
  const x = grey([
    [1, 2],
    [3, 4],
  ]);
  close(img.resize(x, [3, 3], 'bilinear'), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  assert.deepEqual(values(img.resize(x, [3, 3], 'nearest')), [1, 2, 2, 3, 4, 4, 3, 4, 4]);
  const row = grey([[0, 1, 2, 3]]);
  close(img.resize(row, [1, 2], 'bilinear'), [0.5, 2.5]); // samples at 0.5 and 2.5
  assert.deepEqual(values(img.resize(row, [1, 2], 'nearest')), [1, 3]); // floor((o + 0.5) · 2)
  // an integer image comes back as float32
  assert.equal(img.resize(tf.tensor3d([1, 2, 3, 4], [2, 2, 1], 'int32'), [4, 4]).dtype, 'float32');
});

test('resize bicubic: Keys a = -0.5, outside taps weighted 0 and renormalised (TF 2 kernel)', () => {
  const row = grey([[0, 1, 2, 3]]);
  const out = values(img.resize(row, [1, 8], 'bicubic'));
  // o = 0: source −0.25; only taps 0 and 1 are inside: weights k(0.25) = 0.8671875, k(1.25) = −0.0703125
  close([out[0]], [-0.0703125 / (0.8671875 - 0.0703125)], 1e-6, 'o=0');
  // o = 1: source 0.25; taps 0,1,2 inside with k(0.25), k(0.75) = 0.2265625, k(1.75) = −0.0234375
  close([out[1]], [(0.2265625 - 2 * 0.0234375) / (0.8671875 + 0.2265625 - 0.0234375)], 1e-6, 'o=1');
  // o = 3: source 1.25, all four taps inside: cubic reproduces the linear ramp
  close([out[3]], [1.25], 1e-6, 'o=3');
  close([out[4]], [1.75], 1e-6, 'o=4');
  // symmetry: the ramp's ends mirror each other
  close([out[7]], [3 - out[0]], 1e-6, 'o=7');
});

test('resize area: exact area averages (resize_area, align_corners=False)', () => {
  const row = grey([[0, 1, 2, 3]]);
  close(img.resize(row, [1, 3], 'area'), [0.25, 1.5, 2.75]);
  close(img.resize(row, [1, 2], 'area'), [0.5, 2.5]);
  // upscaling 2 → 3: the middle pixel straddles both inputs equally
  close(img.resize(grey([[0, 6]]), [1, 3], 'area'), [0, 3, 6]);
  // 2-D: 4x4 → 2x2 averages 2x2 blocks
  const four = grey([
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [9, 10, 11, 12],
    [13, 14, 15, 16],
  ]);
  close(img.resize(four, [2, 2], 'area'), [3.5, 5.5, 11.5, 13.5]);
});

test('crop, pad, resizeWithCropOrPad and centralCrop offsets', () => {
  const x = grey([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  // 2x3 → 4x2: pad one row above and below, crop the right column (offset ⌊1/2⌋ = 0)
  assert.deepEqual(values(img.resizeWithCropOrPad(x, 4, 2)), [0, 0, 1, 2, 4, 5, 0, 0]);
  // 2x3 → 2x6: pad ⌊3/2⌋ = 1 left, 2 right
  assert.deepEqual(values(img.resizeWithCropOrPad(x, 2, 6)), [0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0]);
  assert.deepEqual(values(img.cropToBoundingBox(x, 1, 1, 1, 2)), [5, 6]);
  assert.deepEqual(values(img.padToBoundingBox(grey([[7]]), 1, 0, 2, 2)), [0, 0, 7, 0]);
  assert.throws(() => img.cropToBoundingBox(x, 1, 2, 1, 2), UserError);
  assert.throws(() => img.padToBoundingBox(x, 0, 0, 1, 3), UserError);
  const five = grey(Array.from({ length: 5 }, (_, r) => Array.from({ length: 5 }, (_, c) => r * 5 + c)));
  // start = int((5 − 2.5) / 2) = 1 → rows/cols 1..3
  assert.deepEqual(img.centralCrop(five, 0.5).shape, [3, 3, 1]);
  assert.deepEqual(values(img.centralCrop(five, 0.5)).slice(0, 3), [6, 7, 8]);
  assert.deepEqual(img.centralCrop(five, 1).shape, [5, 5, 1]);
});

test('flips and seeded random flips', () => {
  const x = grey([
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(values(img.flipLeftRight(x)), [2, 1, 4, 3]);
  assert.deepEqual(values(img.flipUpDown(x)), [3, 4, 1, 2]);
  const flips = (seed: number) => {
    const rng = new Random(seed);
    return Array.from({ length: 40 }, () => values(img.randomFlipLeftRight(x, rng))[0] === 2);
  };
  const a = flips(1);
  assert.deepEqual(flips(1), a);
  const n = a.filter(Boolean).length;
  assert.ok(n > 8 && n < 32, `flipped ${n} of 40`);
});

test('brightness and contrast (per channel mean)', () => {
  close(img.adjustBrightness(grey([[0.2, 0.9]]), 0.2), [0.4, 1.1]); // no clipping, like TF
  close(img.adjustContrast(grey([[0.2, 0.6]]), 2), [0, 0.8]);
  close(img.adjustContrast(t3([[[0.2, 1], [0.6, 0]]]), 0.5), [0.3, 0.75, 0.5, 0.25]);
  const rng = new Random(5);
  const d = values(img.randomBrightness(grey([[0.5]]), 0.1, rng))[0] - 0.5;
  assert.ok(Math.abs(d) <= 0.1);
});

test('hue rotates with wrap-around; saturation scales and clamps', () => {
  const red = t3([[[1, 0, 0]]]);
  close(img.adjustHue(red, 1 / 3), [0, 1, 0]);
  close(img.adjustHue(red, -1 / 3), [0, 0, 1]); // hue 0 − 1/3 wraps to 2/3: blue
  close(img.adjustHue(red, 1), [1, 0, 0]);
  const c = t3([[[0.8, 0.4, 0.2]]]); // h = 1/18, s = 0.75, v = 0.8
  close(img.adjustHue(c, 0.5), [0.2, 0.6, 0.8]);
  close(img.adjustHue(c, -0.5), [0.2, 0.6, 0.8]);
  close(img.rgbToHsv(c), [1 / 18, 0.75, 0.8]);
  close(img.hsvToRgb(img.rgbToHsv(c)), [0.8, 0.4, 0.2]);
  close(img.adjustSaturation(c, 0.5), [0.8, 0.6, 0.5]);
  close(img.adjustSaturation(c, 0), [0.8, 0.8, 0.8]);
  close(img.adjustSaturation(c, 10), [0.8, 0.8 / 3, 0]); // s clamped to 1
  assert.throws(() => img.adjustHue(grey([[0.5]]), 0.1), /needs an RGB image/);
});

test('perImageStandardization: TF formula with the 1/sqrt(N) stddev floor', () => {
  const s = Math.sqrt(1.25);
  close(img.perImageStandardization(grey([[0, 1], [2, 3]])), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
  // stddev 0.0433 < 1/sqrt(4) = 0.5: divide by the floor
  close(img.perImageStandardization(grey([[0, 0], [0, 0.1]])), [-0.05, -0.05, -0.05, 0.15], 1e-6);
  close(img.perImageStandardization(grey([[0.7, 0.7]])), [0, 0]);
});

test('drawBoundingBoxes: truncated pixel rows/cols, TF colour table', () => {
  const black = tf.zeros([5, 5, 3]) as tf.Tensor3D;
  const out = img.drawBoundingBoxes(black, [
    [0.25, 0.25, 0.75, 1.0],
    [0, 0, 0.1, 0.1],
  ]);
  const px = (r: number, c: number) => values(out).slice((r * 5 + c) * 3, (r * 5 + c) * 3 + 3);
  // box 1: rows ⌊0.25·4⌋ = 1 and 3, cols 1 and 4, in yellow
  for (const [r, c] of [[1, 1], [1, 4], [3, 2], [2, 1], [2, 4], [3, 4]]) assert.deepEqual(px(r, c), [1, 1, 0], `${r},${c}`);
  for (const [r, c] of [[2, 2], [4, 4], [0, 4], [2, 3]]) assert.deepEqual(px(r, c), [0, 0, 0], `${r},${c}`);
  // box 2: rows/cols ⌊0.1·4⌋ = 0: a single blue pixel
  assert.deepEqual(px(0, 0), [0, 0, 1]);
  assert.deepEqual(px(0, 1), [0, 0, 0]);
});

test('sampleDistortedBoundingBox: TF crop rules, seeded, constraints hold', () => {
  const whole = img.sampleDistortedBoundingBox([4, 4, 3], [], new Random(1), { areaRange: [1, 1], aspectRatioRange: [1, 1] });
  assert.deepEqual(whole, { begin: [0, 0, 0], size: [4, 4, -1], box: [0, 0, 1, 1] });
  const a = img.sampleDistortedBoundingBox([100, 80, 3], [[0, 0, 1, 1]], new Random(7));
  assert.deepEqual(img.sampleDistortedBoundingBox([100, 80, 3], [[0, 0, 1, 1]], new Random(7)), a);
  for (let seed = 0; seed < 50; seed++) {
    const { begin, size, box } = img.sampleDistortedBoundingBox([100, 80, 3], [[0.5, 0.5, 1, 1]], new Random(seed), { minObjectCovered: 0.9 });
    const [y, x] = begin;
    const [h, w] = size;
    assert.ok(y >= 0 && x >= 0 && y + h <= 100 && x + w <= 80, `inside: ${begin} ${size}`);
    assert.ok(h * w >= 0.05 * 8000 - 1e-9);
    // covers ≥ 90% of the box rows 50..100, cols 40..80
    const inter = Math.max(0, Math.min(y + h, 100) - Math.max(y, 50)) * Math.max(0, Math.min(x + w, 80) - Math.max(x, 40));
    assert.ok(inter / (50 * 40) >= 0.9, `covered ${inter / 2000}`);
    assert.deepEqual(box, [y / 100, x / 80, (y + h) / 100, (x + w) / 80]);
  }
  // impossible constraints: after max attempts, the whole image
  const fallback = img.sampleDistortedBoundingBox([10, 10, 1], [[0, 0, 1, 1]], new Random(3), { minObjectCovered: 1, areaRange: [0.05, 0.5] });
  assert.deepEqual(fallback.size, [10, 10, -1]);
});

test("preprocessForTrain: the book's pipeline gives a seeded [h, w, 3] image in [0, 1]", () => {
  const rng = () => new Random(11);
  const src = tf.randomUniform([20, 16, 3], 0, 255, 'int32', 1) as tf.Tensor3D;
  const a = img.preprocessForTrain(src, 8, 6, [], rng());
  assert.deepEqual(a.shape, [8, 6, 3]);
  const v = values(a);
  assert.ok(v.every((x) => x >= 0 && x <= 1));
  assert.deepEqual(values(img.preprocessForTrain(src, 8, 6, [], rng())), v);
  assert.notDeepEqual(values(img.preprocessForTrain(src, 8, 6, [], new Random(12))), v);
  const before = tf.memory().numTensors;
  img.preprocessForTrain(src, 8, 6, [[0.1, 0.1, 0.9, 0.9]], rng()).dispose();
  assert.equal(tf.memory().numTensors, before); // no leaked intermediates
});

test('PNG round trip is exact; JPEG is close; wrong or broken input is a UserError', async () => {
  const u8 = tf.tensor3d([0, 10, 20, 255, 128, 64, 1, 2, 3, 200, 100, 50, 9, 8, 7, 6, 5, 4], [2, 3, 3], 'int32');
  const png = await img.encodePng(u8);
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  const back = await img.decodePng(png);
  assert.deepEqual(back.shape, [2, 3, 3]);
  assert.deepEqual(values(back), values(u8));
  assert.deepEqual((await img.decodeImage(png, { channels: 1 })).shape, [2, 3, 1]);
  assert.deepEqual((await img.decodeImage(png, { channels: 4 })).shape, [2, 3, 4]);
  // float images are converted with convert_image_dtype: 0.5 → 127
  const halfGrey = await img.decodePng(await img.encodePng(tf.fill([2, 2, 1], 0.5) as tf.Tensor3D));
  assert.deepEqual(values(halfGrey), [127, 127, 127, 127]);
  const flat = tf.fill([16, 16, 3], 90, 'int32') as tf.Tensor3D;
  const jpeg = await img.encodeJpeg(flat);
  assert.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8]);
  const j = values(await img.decodeJpeg(jpeg, { source: 'flat.jpg' }));
  assert.ok(j.every((v) => Math.abs(v - 90) <= 2));
  await assert.rejects(img.decodePng(jpeg, { source: 'x.png' }), (e: Error) => e instanceof UserError && e.message === 'x.png: not a PNG image (found jpeg)');
  await assert.rejects(img.decodeImage(Uint8Array.of(1, 2, 3), { source: 'junk.bin' }), (e: Error) => e instanceof UserError && e.message.startsWith('junk.bin: not a readable image'));
});

test('grey images stay one channel through PNG', async () => {
  const g = tf.tensor3d([0, 50, 100, 250], [2, 2, 1], 'int32');
  const back = await img.decodePng(await img.encodePng(g));
  assert.deepEqual(back.shape, [2, 2, 1]);
  assert.deepEqual(values(back), [0, 50, 100, 250]);
});
