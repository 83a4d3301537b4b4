/** Colour adjustments (brightness, contrast, hue, saturation, standardisation), with the C++ kernels' rules. */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import type { Random } from '../util/random.js';
import type { Image } from './image.js';

const uniform = (rng: Random, lo: number, hi: number) => lo + (hi - lo) * rng.next();

/** adjust_brightness: x + delta (no clipping; the book clips at the end). */
export const adjustBrightness = (image: Image, delta: number): Image => tf.add(image, delta);

export function randomBrightness(image: Image, maxDelta: number, rng: Random): Image {
  if (maxDelta < 0) throw new UserError('random brightness: max delta must be ≥ 0');
  return adjustBrightness(image, uniform(rng, -maxDelta, maxDelta));
}

/** adjust_contrast: per channel, (x − mean) · factor + mean, mean over all pixels. */
export function adjustContrast(image: Image, factor: number): Image {
  // Channel means summed in JS: tfjs-cpu reduces non-trailing axes via a slow generic transpose…
  const c = image.shape[2];
  const src = image.dataSync() as Float32Array;
  const sums = new Float64Array(c);
  for (let i = 0; i < src.length; i++) sums[i % c] += src[i];
  const means = Array.from(sums, (s) => Math.fround(s / (src.length / c)));
  // …and applied in the same pass: tfjs-cpu's broadcasting binary ops cost ~1 µs per element.
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = (src[i] - means[i % c]) * factor + means[i % c];
  return tf.tensor3d(out, image.shape);
}

export function randomContrast(image: Image, lower: number, upper: number, rng: Random): Image {
  if (!(lower >= 0 && upper > lower)) throw new UserError('random contrast: need 0 ≤ lower < upper');
  return adjustContrast(image, uniform(rng, lower, upper));
}

function requireRgb(image: Image, what: string): void {
  if (image.shape[2] !== 3) throw new UserError(`${what} needs an RGB image (3 channels), got ${image.shape[2]}`);
}

/** rgb_to_hsv on one pixel: hue in [0, 1). */
function rgbToHsvPixel(r: number, g: number, b: number, out: Float32Array | number[]): void {
  const v = Math.max(r, g, b);
  const range = v - Math.min(r, g, b);
  const s = v > 0 ? range / v : 0;
  let h = 0;
  if (range > 0) {
    const norm = 1 / (6 * range);
    if (r === v) h = norm * (g - b);
    else if (g === v) h = norm * (b - r) + 2 / 6;
    else h = norm * (r - g) + 4 / 6;
    if (h < 0) h += 1;
  }
  out[0] = h;
  out[1] = s;
  out[2] = v;
}

/** hsv_to_rgb on one pixel (TF's piecewise-linear formula). */
function hsvToRgbPixel(h: number, s: number, v: number, out: Float32Array | number[]): void {
  const dh = h * 6;
  const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);
  const dr = clamp01(Math.abs(dh - 3) - 1);
  const dg = clamp01(2 - Math.abs(dh - 2));
  const db = clamp01(2 - Math.abs(dh - 4));
  const oneMinusS = 1 - s;
  out[0] = v * (oneMinusS + s * dr);
  out[1] = v * (oneMinusS + s * dg);
  out[2] = v * (oneMinusS + s * db);
}

function mapHsv(image: Image, what: string, f: (hsv: number[]) => void): Image {
  requireRgb(image, what);
  const src = image.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  const px = [0, 0, 0];
  for (let i = 0; i < src.length; i += 3) {
    rgbToHsvPixel(src[i], src[i + 1], src[i + 2], px);
    f(px);
    hsvToRgbPixel(px[0], px[1], px[2], px);
    out[i] = px[0];
    out[i + 1] = px[1];
    out[i + 2] = px[2];
  }
  return tf.tensor3d(out, image.shape);
}

/** Each pixel of an RGB image through `convert` (r, g, b in; three values written to `out`). */
function mapPixels(image: Image, what: string, convert: (a: number, b: number, c: number, out: Float32Array) => void): Image {
  requireRgb(image, what);
  const src = image.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 3) convert(src[i], src[i + 1], src[i + 2], out.subarray(i, i + 3));
  return tf.tensor3d(out, image.shape);
}

export function rgbToHsv(image: Image): Image {
  return mapPixels(image, 'rgb_to_hsv', rgbToHsvPixel);
}

export function hsvToRgb(image: Image): Image {
  return mapPixels(image, 'hsv_to_rgb', hsvToRgbPixel);
}

/** adjust_hue: rotate hue by delta (in turns, −1..1), wrapping around. */
export function adjustHue(image: Image, delta: number): Image {
  if (!(delta >= -1 && delta <= 1)) throw new UserError(`adjust hue: delta must be in [-1, 1], got ${delta}`);
  return mapHsv(image, 'adjust hue', (p) => {
    const h = p[0] + delta;
    p[0] = h - Math.floor(h);
  });
}

export function randomHue(image: Image, maxDelta: number, rng: Random): Image {
  if (!(maxDelta >= 0 && maxDelta <= 0.5)) throw new UserError('random hue: max delta must be in [0, 0.5]');
  return adjustHue(image, uniform(rng, -maxDelta, maxDelta));
}

/** adjust_saturation: saturation × factor, clamped to [0, 1]. */
export function adjustSaturation(image: Image, factor: number): Image {
  return mapHsv(image, 'adjust saturation', (p) => {
    p[1] = Math.min(1, Math.max(0, p[1] * factor));
  });
}

export function randomSaturation(image: Image, lower: number, upper: number, rng: Random): Image {
  if (!(lower >= 0 && upper > lower)) throw new UserError('random saturation: need 0 ≤ lower < upper');
  return adjustSaturation(image, uniform(rng, lower, upper));
}

/** per_image_standardization: (x − mean) / max(stddev, 1/√N), N = h·w·c. */
export function perImageStandardization(image: Image): Image {
  return tf.tidy(() => {
    const x = tf.cast(image, 'float32');
    const n = x.size;
    const { mean, variance } = tf.moments(x);
    const adjustedStd = tf.maximum(tf.sqrt(variance), 1 / Math.sqrt(n));
    return tf.div(tf.sub(x, mean), adjustedStd) as Image;
  });
}

export const clip = (image: Image, lo = 0, hi = 1): Image => tf.clipByValue(image, lo, hi);
