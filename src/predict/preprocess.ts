import sharp from 'sharp';
import { readFileSync } from 'node:fs';
import { fileError } from '../errors.js';
import { decodeGrey } from './decode.js';
import { IMAGE_PIXELS, IMAGE_SIZE } from '../data/mnist.js';

/** The digit is scaled to fit 20×20, as in the MNIST set, then placed in a 28×28 field. */
const DIGIT_BOX = 20;

/**
 * Turns any image into an MNIST-style 28×28 input, the way MNIST was made: grey, digit white
 * on black (a dark-on-light image is inverted), cropped to the ink, scaled into 20×20 keeping
 * its aspect ratio, and centred by centre of mass in 28×28. Returns pixels in [0, 1].
 */
export async function imageToMnist(bytes: Uint8Array, file: string): Promise<Float32Array> {
  const { pixels, width, height } = await decodeGrey(bytes, file);
  return greyToMnist(pixels, width, height, file);
}

export async function imageFileToMnist(file: string): Promise<Float32Array> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw fileError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  return imageToMnist(bytes, file);
}

/** The same conversion from grey pixels (0 = black), exposed for the web page's canvas. */
export async function greyToMnist(pixels: Uint8Array, width: number, height: number, file = 'image'): Promise<Float32Array> {
  const ink = toInk(pixels, width, height);
  const box = inkBox(ink, width, height);
  if (!box) throw fileError(file, 'no digit found (the image is blank)');
  const { x0, y0, x1, y1 } = box;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = DIGIT_BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale));
  const th = Math.max(1, Math.round(bh * scale));
  const cropped = new Uint8Array(bw * bh);
  for (let y = 0; y < bh; y++) cropped.set(ink.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + bw), y * bw);
  let small: Buffer;
  try {
    small = await sharp(cropped, { raw: { width: bw, height: bh, channels: 1 } }).resize(tw, th, { kernel: 'lanczos3', fit: 'fill' }).greyscale().raw().toBuffer();
  } catch (err) {
    throw fileError(file, `cannot resize image (${(err as Error).message})`);
  }
  return centreByMass(small, tw, th);
}

/** Grey → ink intensity (digit bright); dark-on-light images, judged by their border, are inverted. */
function toInk(pixels: Uint8Array, width: number, height: number): Uint8Array {
  let border = 0;
  let n = 0;
  for (let x = 0; x < width; x++) {
    border += pixels[x] + pixels[(height - 1) * width + x];
    n += 2;
  }
  for (let y = 0; y < height; y++) {
    border += pixels[y * width] + pixels[y * width + width - 1];
    n += 2;
  }
  const invert = border / n > 127;
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = invert ? 255 - pixels[i] : pixels[i];
  return out;
}

/** Faint background noise (paper texture, JPEG ringing) below this does not count as ink for the crop. */
const INK_THRESHOLD = 40;

function inkBox(ink: Uint8Array, width: number, height: number): { x0: number; y0: number; x1: number; y1: number } | undefined {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > INK_THRESHOLD) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? undefined : { x0, y0, x1, y1 };
}

function centreByMass(small: Uint8Array, w: number, h: number): Float32Array {
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x];
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  const cx = mass ? mx / mass : (w - 1) / 2;
  const cy = mass ? my / mass : (h - 1) / 2;
  const centre = IMAGE_SIZE / 2;
  const offX = Math.round(centre - cx);
  const offY = Math.round(centre - cy);
  const out = new Float32Array(IMAGE_PIXELS);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const tx = x + offX;
      const ty = y + offY;
      if (tx >= 0 && tx < IMAGE_SIZE && ty >= 0 && ty < IMAGE_SIZE) out[ty * IMAGE_SIZE + tx] = small[y * w + x] / 255;
    }
  }
  return out;
}
