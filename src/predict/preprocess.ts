import { readFileOrFail } from '../util/read-file.js';
import { fileError } from '../errors.js';
import { decodeGrey, type GreyImage } from './decode.js';
import { findDigits, type Box, type DigitInk } from './segment.js';
import { IMAGE_PIXELS, IMAGE_SIZE } from '../data/mnist.js';

/** The digit is scaled to fit 20×20, as in the MNIST set, then placed in a 28×28 field. */
const DIGIT_BOX = 20;

export interface DigitInput {
  /** 784 floats in [0, 1]: the 28×28 image the network sees. */
  pixels: Float32Array;
  /** Where the digit is in the image as given (pixels of the original, before any shrinking). */
  box: { x: number; y: number; width: number; height: number };
}

export interface ReadOptions {
  /** Read all the ink as one digit instead of a number of several digits. */
  single?: boolean;
}

/**
 * Turns an image into MNIST-style 28×28 inputs, one per digit, left to right. Ink is separated
 * from the background (see segment.ts), then each digit is made the way MNIST was: white on
 * black, scaled into 20×20 keeping its aspect ratio, and centred by centre of mass in 28×28.
 */
export async function imageToDigits(bytes: Uint8Array, file: string, opts: ReadOptions = {}): Promise<DigitInput[]> {
  return greyToDigits(await decodeGrey(bytes, file), file, opts);
}

/** One digit from the image: all of its ink (specks aside) read as a single digit. */
export async function imageToMnist(bytes: Uint8Array, file: string): Promise<Float32Array> {
  const [digit] = await imageToDigits(bytes, file, { single: true });
  return digit.pixels;
}

export function readImageFile(file: string): Buffer {
  return readFileOrFail(file, 'an image');
}

export async function imageFileToMnist(file: string): Promise<Float32Array> {
  return imageToMnist(readImageFile(file), file);
}

export async function imageFileToDigits(file: string, opts: ReadOptions = {}): Promise<DigitInput[]> {
  return imageToDigits(readImageFile(file), file, opts);
}

/** The same from grey pixels (0 = black), for images already decoded. */
export async function greyToDigits(image: GreyImage, file = 'image', opts: ReadOptions = {}): Promise<DigitInput[]> {
  const digits = findDigits(image, opts);
  if (!digits.length) throw fileError(file, 'no digit found (the image is blank)');
  const sx = (image.sourceWidth ?? image.width) / image.width;
  const sy = (image.sourceHeight ?? image.height) / image.height;
  return digits.map((d) => ({
      pixels: digitToMnist(d),
    box: scaleBox(d.box, sx, sy),
  }));
}

export async function greyToMnist(pixels: Uint8Array, width: number, height: number, file = 'image'): Promise<Float32Array> {
  const [digit] = await greyToDigits({ pixels, width, height }, file, { single: true });
  return digit.pixels;
}

function scaleBox(b: Box, sx: number, sy: number): DigitInput['box'] {
  const x = Math.floor(b.x0 * sx);
  const y = Math.floor(b.y0 * sy);
  return { x, y, width: Math.ceil((b.x1 + 1) * sx) - x, height: Math.ceil((b.y1 + 1) * sy) - y };
}

function digitToMnist({ box, ink }: DigitInk): Float32Array {
  const bw = box.x1 - box.x0 + 1;
  const bh = box.y1 - box.y0 + 1;
  const scale = DIGIT_BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale));
  const th = Math.max(1, Math.round(bh * scale));
  return centreByMass(resizeArea(ink, bw, bh, tw, th), tw, th);
}

/**
 * Resamples by area: each output pixel is the mean of the input area it covers (fractions of
 * pixels weighted), so thin strokes fade in proportion instead of vanishing. Separable: rows
 * first, then columns. Done here rather than in sharp: a 20×20 result is cheaper than a trip
 * through the image library's thread pool.
 */
export function resizeArea(src: Uint8Array, w: number, h: number, tw: number, th: number): Uint8Array {
  const xs = areaWeights(w, tw);
  const ys = areaWeights(h, th);
  const rows = new Float32Array(h * tw);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < tw; x++) {
      let sum = 0;
      for (const [i, weight] of xs[x]) sum += weight * src[y * w + i];
      rows[y * tw + x] = sum;
    }
  }
  const out = new Uint8Array(tw * th);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      let sum = 0;
      for (const [i, weight] of ys[y]) sum += weight * rows[i * tw + x];
      out[y * tw + x] = Math.min(255, Math.round(sum));
    }
  }
  return out;
}

/** For each of `m` output samples, the input samples (of `n`) it covers and their weights (summing to 1). */
function areaWeights(n: number, m: number): Array<Array<[number, number]>> {
  const ratio = n / m;
  return Array.from({ length: m }, (_, j) => {
    const a = j * ratio;
    const b = a + ratio;
    const taps: Array<[number, number]> = [];
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const cover = Math.min(b, i + 1) - Math.max(a, i);
      if (cover > 0) taps.push([i, cover / ratio]);
    }
    return taps;
  });
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
