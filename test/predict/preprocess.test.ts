import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { loadMnist } from '../../src/data/mnist.js';
import { imageToMnist } from '../../src/predict/preprocess.js';
import { UserError } from '../../src/errors.js';

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i] / n; mb += b[i] / n; }
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

const { test: digits } = loadMnist({ limit: 5 });
const digit = (i: number) => Buffer.from(digits.images.subarray(i * 784, (i + 1) * 784));

test('an MNIST digit, upscaled and saved as PNG, comes back close to itself', async () => {
  let sum = 0;
  for (const i of [0, 1, 2, 3, 4]) {
    const png = await sharp(digit(i), { raw: { width: 28, height: 28, channels: 1 } }).resize(112, 112).png().toBuffer();
    const back = await imageToMnist(png, 'digit.png');
    assert.equal(back.length, 784);
    assert.ok(back.every((v) => v >= 0 && v <= 1));
    const r = correlation(back, Float32Array.from(digit(i), (p) => p / 255));
    assert.ok(r > 0.6, `digit ${i}: correlation ${r}`);
    sum += r;
  }
  // MNIST centres the centre of mass at pixel (14, 14); with (13.5, 13.5) the mean drops to ≈0.8.
  assert.ok(sum / 5 > 0.9, `mean correlation ${sum / 5}`);
});

test('dark ink on a light, larger, off-centre JPEG is inverted, fitted into 20×20 and centred by mass', async () => {
  const w = 200, h = 120;
  const img = Buffer.alloc(w * h, 240);
  for (let y = 10; y < 70; y++) for (let x = 20; x < 35; x++) img[y * w + x] = 20; // a dark vertical bar, top-left
  const jpeg = await sharp(img, { raw: { width: w, height: h, channels: 1 } }).jpeg().toBuffer();
  const out = await imageToMnist(jpeg, 'bar.jpg');
  let mass = 0, cx = 0, cy = 0, top = 28, bottom = -1;
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const v = out[y * 28 + x];
    mass += v; cx += v * x; cy += v * y;
    if (v > 0.5) { top = Math.min(top, y); bottom = Math.max(bottom, y); }
  }
  assert.ok(Math.abs(cx / mass - 14) <= 0.75 && Math.abs(cy / mass - 14) <= 0.75, `centre ${cx / mass},${cy / mass}`);
  assert.ok(bottom - top + 1 >= 18 && bottom - top + 1 <= 21, `height ${bottom - top + 1}`);
  assert.ok(out[0] === 0, 'background is black');
});

test('a file that is not an image is a UserError naming it', async () => {
  await assert.rejects(imageToMnist(Buffer.from('hello'), 'notes.png'), (e: unknown) => e instanceof UserError && /^notes\.png: not a readable image/.test(e.message));
});

test('ink on a transparent background is read whatever its colour: white ink and black ink give the same input', async () => {
  const alpha = Buffer.alloc(28 * 28 * 4); // all transparent
  const ink = (r: number) => {
    const rgba = Buffer.from(alpha);
    for (let p = 0; p < 784; p++) {
      const v = digits.images[784 + p]; // test digit 1
      rgba.set([r, r, r, v], p * 4); // the digit's shape lives only in the alpha channel
    }
    return sharp(rgba, { raw: { width: 28, height: 28, channels: 4 } }).resize(140, 140).png().toBuffer();
  };
  const white = await imageToMnist(await ink(255), 'white-on-transparent.png');
  const black = await imageToMnist(await ink(0), 'black-on-transparent.png');
  const expected = Float32Array.from(digit(1), (p) => p / 255);
  assert.ok(correlation(white, expected) > 0.8, `white ink: correlation ${correlation(white, expected)}`);
  assert.ok(correlation(black, expected) > 0.8, `black ink: correlation ${correlation(black, expected)}`);
});

test('a blank image is a UserError naming it, not a guess', async () => {
  for (const colour of [0, 255]) {
    const png = await sharp(Buffer.alloc(50 * 50, colour), { raw: { width: 50, height: 50, channels: 1 } }).png().toBuffer();
    await assert.rejects(imageToMnist(png, 'blank.png'), (e: unknown) => e instanceof UserError && /^blank\.png: no digit found/.test(e.message));
  }
});
