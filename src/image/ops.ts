/**
 * The book's tf.image calls (seed 002 §7.2) on TensorFlow.js tensors, with TensorFlow 2.x's
 * semantics (tf.image.resize v2: half-pixel centres, no antialias; convert_image_dtype's rounding;
 * the C++ kernels' rules for bicubic, area, hue, saturation, bounding boxes).
 *
 * Images are tf.Tensor3D [height, width, channels]. TensorFlow's uint8 images are int32 tensors
 * holding 0..255 here (tfjs has no uint8 dtype); float images are float32 in [0, 1]. Ops other than
 * the codecs and convertImageDtype expect float32 images. Random ops take a seeded `Random`.
 * Codecs use sharp (libvips).
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { UserError } from '../errors.js';
import type { Random } from '../util/random.js';

export type Image = tf.Tensor3D;

// ---------------------------------------------------------------- codecs

export interface DecodeOptions {
  /** 0 (default): as stored; 1 grey; 3 RGB; 4 RGBA — like decode_jpeg/decode_png's `channels`. */
  channels?: 0 | 1 | 3 | 4;
  /** Names the input in error messages. */
  source?: string;
}

/** decode_image: PNG, JPEG (and whatever else sharp reads) → int32 [h, w, c] with 0..255. */
export async function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<Image> {
  const source = opts.source ?? 'image';
  const fail = (e: Error) => {
    throw new UserError(`${source}: not a readable image (${e.message})`);
  };
  // sharp turns greyscale into sRGB unless told otherwise; TF keeps what the file holds, so
  // without an explicit channel count we ask the file first.
  const want = opts.channels || (await sharp(bytes).metadata().catch(fail)).channels || 3;
  let pipeline = sharp(bytes).toColourspace(want <= 2 ? 'b-w' : 'srgb');
  pipeline = want === 2 || want === 4 ? pipeline.ensureAlpha() : pipeline.removeAlpha();
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }).catch(fail);
  return tf.tensor3d(Int32Array.from(data), [info.height, info.width, info.channels], 'int32');
}

const MAGIC: Record<string, number[]> = { jpeg: [0xff, 0xd8, 0xff], png: [0x89, 0x50, 0x4e, 0x47] };

function sniff(bytes: Uint8Array): string {
  for (const [format, magic] of Object.entries(MAGIC)) if (magic.every((b, i) => bytes[i] === b)) return format;
  return 'unknown';
}

async function decodeAs(format: string, bytes: Uint8Array, opts: DecodeOptions): Promise<Image> {
  const found = sniff(bytes);
  if (found !== format) {
    if (found === 'unknown') await decodeImage(bytes, opts); // reports "not a readable image" if it isn't one
    throw new UserError(`${opts.source ?? 'image'}: not a ${format.toUpperCase()} image (found ${found === 'unknown' ? 'another format' : found})`);
  }
  return decodeImage(bytes, opts);
}

export const decodeJpeg = (bytes: Uint8Array, opts: DecodeOptions = {}) => decodeAs('jpeg', bytes, opts);
export const decodePng = (bytes: Uint8Array, opts: DecodeOptions = {}) => decodeAs('png', bytes, opts);

/** Raw 0..255 bytes of an image (float images are converted with convert_image_dtype's saturating cast). */
function toUint8Bytes(image: Image): Uint8Array {
  const u8 = image.dtype === 'float32' ? convertImageDtype(image, 'uint8', { saturate: true }) : image;
  try {
    return Uint8Array.from(u8.dataSync() as Int32Array, (v) => (v < 0 ? 0 : v > 255 ? 255 : v));
  } finally {
    if (u8 !== image) u8.dispose();
  }
}

function rawInput(image: Image): sharp.Sharp {
  const [height, width, channels] = image.shape;
  if (channels < 1 || channels > 4) throw new UserError(`can't encode an image with ${channels} channels`);
  const input = sharp(toUint8Bytes(image), { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
  // Without this sharp writes grey images as RGB.
  return channels <= 2 ? input.toColourspace('b-w') : input;
}

export async function encodePng(image: Image): Promise<Uint8Array> {
  return rawInput(image).png().toBuffer();
}

/** encode_jpeg; TF's default quality is 95. */
export async function encodeJpeg(image: Image, opts: { quality?: number } = {}): Promise<Uint8Array> {
  return rawInput(image).jpeg({ quality: opts.quality ?? 95 }).toBuffer();
}

// ---------------------------------------------------------------- dtype

export type ImageDtype = 'uint8' | 'uint16' | 'int32' | 'float32';
const MAX: Record<Exclude<ImageDtype, 'float32'>, number> = { uint8: 255, uint16: 65535, int32: 2147483647 };

/**
 * convert_image_dtype. int → float multiplies by 1/MAX; float → int multiplies by MAX + 0.5 and
 * truncates (so 0.5 → 127 for uint8, as in TF); int → int rescales by the ratio of (MAX + 1)s.
 * `from` says what an int32 tensor holds (default uint8; tfjs has no uint8). Out-of-range floats
 * are clamped (TF's saturate=True; TF leaves saturate=False overflow undefined).
 */
export function convertImageDtype(image: Image, to: ImageDtype, opts: { from?: ImageDtype; saturate?: boolean } = {}): Image {
  const from: ImageDtype = image.dtype === 'float32' ? 'float32' : (opts.from ?? 'uint8');
  if (from === to) return image.clone();
  return tf.tidy(() => {
    if (from === 'float32') {
      const max = MAX[to as keyof typeof MAX];
      const clipped = tf.clipByValue(image, 0, 1);
      return tf.cast(tf.mul(clipped, max + 0.5), 'int32') as Image;
    }
    const maxIn = MAX[from];
    if (to === 'float32') return tf.mul(tf.cast(image, 'float32'), Math.fround(1 / maxIn)) as Image;
    const maxOut = MAX[to];
    if (maxIn > maxOut) return tf.floorDiv(image, Math.round((maxIn + 1) / (maxOut + 1))) as Image;
    return tf.mul(image, Math.round((maxOut + 1) / (maxIn + 1))) as Image;
  });
}

// ---------------------------------------------------------------- resize

export type ResizeMethod = 'bilinear' | 'nearest' | 'bicubic' | 'area';
/** resize_images' integer methods, in the book's order (method=0..3). */
export const RESIZE_METHODS: readonly ResizeMethod[] = ['bilinear', 'nearest', 'bicubic', 'area'];

/** tf.image.resize (TF 2.x, antialias=False): result is float32. */
export function resize(image: Image, size: [number, number], method: ResizeMethod = 'bilinear'): Image {
  const [outH, outW] = size;
  if (!(outH > 0 && outW > 0)) throw new UserError(`resize: size must be positive, got ${outH}x${outW}`);
  const img = image.dtype === 'float32' ? image : tf.cast(image, 'float32');
  try {
    switch (method) {
      case 'bilinear':
        return tf.image.resizeBilinear(img, [outH, outW], false, true);
      case 'nearest':
        return tf.image.resizeNearestNeighbor(img, [outH, outW], false, true);
      case 'bicubic':
        return resizeBicubic(img, outH, outW);
      case 'area':
        return resizeArea(img, outH, outW);
      default:
        throw new UserError(`resize: unknown method ${method as string}`);
    }
  } finally {
    if (img !== image) img.dispose();
  }
}

const CUBIC_TABLE_SIZE = 1024;
/** TF's table of Keys cubic weights (a = -0.5), sampled at 1/1024 steps like resize_bicubic_op.cc. */
const KEYS_TABLE: Float32Array = (() => {
  const a = -0.5;
  const t = new Float32Array((CUBIC_TABLE_SIZE + 1) * 2);
  for (let i = 0; i <= CUBIC_TABLE_SIZE; i++) {
    let x = i / CUBIC_TABLE_SIZE;
    t[i * 2] = ((a + 2) * x - (a + 3)) * x * x + 1;
    x += 1;
    t[i * 2 + 1] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  }
  return t;
})();

/** lrintf: round half to even. */
function lrint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Per output coordinate: 4 input indices and weights (TF half-pixel bicubic: samples outside the
 * image get weight 0 and the rest are renormalised).
 */
function cubicTaps(outSize: number, inSize: number): { index: Int32Array; weight: Float32Array } {
  const scale = Math.fround(inSize / outSize);
  const index = new Int32Array(outSize * 4);
  const weight = new Float32Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const loc = Math.fround((o + 0.5) * scale - 0.5);
    const base = Math.floor(loc);
    const offset = lrint(Math.fround(loc - base) * CUBIC_TABLE_SIZE);
    const w = [
      KEYS_TABLE[offset * 2 + 1],
      KEYS_TABLE[offset * 2],
      KEYS_TABLE[(CUBIC_TABLE_SIZE - offset) * 2],
      KEYS_TABLE[(CUBIC_TABLE_SIZE - offset) * 2 + 1],
    ];
    let sum = 0;
    for (let k = 0; k < 4; k++) {
      const i = base - 1 + k;
      const bounded = Math.min(inSize - 1, Math.max(0, i));
      index[o * 4 + k] = bounded;
      if (bounded !== i) w[k] = 0;
      sum += w[k];
    }
    for (let k = 0; k < 4; k++) weight[o * 4 + k] = Math.abs(sum) > 1e-30 ? w[k] / sum : w[k];
  }
  return { index, weight };
}

function resizeBicubic(image: Image, outH: number, outW: number): Image {
  const [h, w, c] = image.shape;
  const src = image.dataSync() as Float32Array;
  const ys = cubicTaps(outH, h);
  const xs = cubicTaps(outW, w);
  const out = new Float32Array(outH * outW * c);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let j = 0; j < 4; j++) {
          const row = ys.index[y * 4 + j] * w;
          let rowAcc = 0;
          for (let i = 0; i < 4; i++) rowAcc += xs.weight[x * 4 + i] * src[(row + xs.index[x * 4 + i]) * c + ch];
          acc += ys.weight[y * 4 + j] * rowAcc;
        }
        out[(y * outW + x) * c + ch] = acc;
      }
    }
  }
  return tf.tensor3d(out, [outH, outW, c]);
}

/** Per output coordinate: the input cells it covers and the covered fraction of each (resize_area_op.cc). */
function areaSpans(outSize: number, inSize: number): Array<Array<[number, number]>> {
  const scale = inSize / outSize;
  const spans: Array<Array<[number, number]>> = [];
  for (let o = 0; o < outSize; o++) {
    const lo = o * scale;
    const hi = (o + 1) * scale;
    const span: Array<[number, number]> = [];
    for (let i = Math.floor(lo); i < Math.ceil(hi); i++) {
      const part = i < lo ? Math.min(i + 1 - lo, hi - lo) : i + 1 > hi ? hi - i : 1;
      span.push([Math.min(i, inSize - 1), part]);
    }
    spans.push(span);
  }
  return spans;
}

function resizeArea(image: Image, outH: number, outW: number): Image {
  const [h, w, c] = image.shape;
  const src = image.dataSync() as Float32Array;
  const ys = areaSpans(outH, h);
  const xs = areaSpans(outW, w);
  const norm = 1 / ((h / outH) * (w / outW));
  const out = new Float32Array(outH * outW * c);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (const [iy, fy] of ys[y]) for (const [ix, fx] of xs[x]) acc += src[(iy * w + ix) * c + ch] * fy * fx;
        out[(y * outW + x) * c + ch] = acc * norm;
      }
    }
  }
  return tf.tensor3d(out, [outH, outW, c]);
}

// ---------------------------------------------------------------- crops, pads, flips

// tfjs-backend-cpu's Slice, Pad and Reverse kernels index every element through generic strides
// (about 20–50× slower than row copies on a 3-D image), so crops, pads and up-down flips copy rows.

function rowCopy(image: Image, outH: number, outW: number, copy: (src: Float32Array | Int32Array, out: Float32Array | Int32Array, rowBytes: number) => void): Image {
  const src = image.dataSync() as Float32Array | Int32Array;
  const out = image.dtype === 'int32' ? new Int32Array(outH * outW * image.shape[2]) : new Float32Array(outH * outW * image.shape[2]);
  copy(src, out, image.shape[2]);
  return tf.tensor3d(out, [outH, outW, image.shape[2]], image.dtype as 'float32' | 'int32');
}

/** crop_to_bounding_box: rows [top, top+height), columns [left, left+width). */
export function cropToBoundingBox(image: Image, offsetHeight: number, offsetWidth: number, targetHeight: number, targetWidth: number): Image {
  const [h, w, c] = image.shape;
  if (offsetHeight < 0 || offsetWidth < 0) throw new UserError('crop: offsets must be ≥ 0');
  if (targetHeight <= 0 || targetWidth <= 0) throw new UserError('crop: target size must be > 0');
  if (offsetHeight + targetHeight > h || offsetWidth + targetWidth > w) {
    throw new UserError(`crop: ${targetHeight}x${targetWidth} at (${offsetHeight}, ${offsetWidth}) does not fit in ${h}x${w}`);
  }
  return rowCopy(image, targetHeight, targetWidth, (src, out) => {
    for (let r = 0; r < targetHeight; r++) {
      const from = ((offsetHeight + r) * w + offsetWidth) * c;
      out.set(src.subarray(from, from + targetWidth * c), r * targetWidth * c);
    }
  });
}

/** pad_to_bounding_box: zeros around the image so it sits at (offsetHeight, offsetWidth). */
export function padToBoundingBox(image: Image, offsetHeight: number, offsetWidth: number, targetHeight: number, targetWidth: number): Image {
  const [h, w, c] = image.shape;
  if (offsetHeight < 0 || offsetWidth < 0) throw new UserError('pad: offsets must be ≥ 0');
  if (targetHeight - offsetHeight - h < 0 || targetWidth - offsetWidth - w < 0) {
    throw new UserError(`pad: ${h}x${w} at (${offsetHeight}, ${offsetWidth}) does not fit in ${targetHeight}x${targetWidth}`);
  }
  return rowCopy(image, targetHeight, targetWidth, (src, out) => {
    for (let r = 0; r < h; r++) out.set(src.subarray(r * w * c, (r + 1) * w * c), ((offsetHeight + r) * targetWidth + offsetWidth) * c);
  });
}

/** resize_image_with_crop_or_pad: centre crop and/or zero pad to the target size (extra pixel right/bottom). */
export function resizeWithCropOrPad(image: Image, targetHeight: number, targetWidth: number): Image {
  const [h, w] = image.shape;
  const dh = targetHeight - h;
  const dw = targetWidth - w;
  const floorHalf = (n: number) => Math.floor(n / 2);
  return tf.tidy(() => {
    const cropped = cropToBoundingBox(image, Math.max(floorHalf(-dh), 0), Math.max(floorHalf(-dw), 0), Math.min(targetHeight, h), Math.min(targetWidth, w));
    return padToBoundingBox(cropped, Math.max(floorHalf(dh), 0), Math.max(floorHalf(dw), 0), targetHeight, targetWidth);
  });
}

/** central_crop: keeps the central `fraction` of each side (start = int((size − size·fraction) / 2)). */
export function centralCrop(image: Image, fraction: number): Image {
  if (!(fraction > 0 && fraction <= 1)) throw new UserError(`central crop: fraction must be in (0, 1], got ${fraction}`);
  if (fraction === 1) return image.clone();
  const [h, w] = image.shape;
  const top = Math.trunc((h - h * fraction) / 2);
  const left = Math.trunc((w - w * fraction) / 2);
  return cropToBoundingBox(image, top, left, h - 2 * top, w - 2 * left);
}

export function flipLeftRight(image: Image): Image {
  return tf.tidy(() => {
    const batch = tf.expandDims(image.dtype === 'float32' ? image : tf.cast(image, 'float32'), 0) as tf.Tensor4D;
    const flipped = tf.squeeze(tf.image.flipLeftRight(batch), [0]);
    return (image.dtype === 'float32' ? flipped : tf.cast(flipped, image.dtype)) as Image;
  });
}

export function flipUpDown(image: Image): Image {
  const [h, w, c] = image.shape;
  return rowCopy(image, h, w, (src, out) => {
    for (let r = 0; r < h; r++) out.set(src.subarray(r * w * c, (r + 1) * w * c), (h - 1 - r) * w * c);
  });
}

/** Flips with probability 1/2 (TF: uniform < 0.5). */
export function randomFlipLeftRight(image: Image, rng: Random): Image {
  return rng.next() < 0.5 ? flipLeftRight(image) : image.clone();
}

export function randomFlipUpDown(image: Image, rng: Random): Image {
  return rng.next() < 0.5 ? flipUpDown(image) : image.clone();
}

// ---------------------------------------------------------------- colour

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

export function rgbToHsv(image: Image): Image {
  requireRgb(image, 'rgb_to_hsv');
  const src = image.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 3) rgbToHsvPixel(src[i], src[i + 1], src[i + 2], out.subarray(i, i + 3));
  return tf.tensor3d(out, image.shape);
}

export function hsvToRgb(image: Image): Image {
  requireRgb(image, 'hsv_to_rgb');
  const src = image.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 3) hsvToRgbPixel(src[i], src[i + 1], src[i + 2], out.subarray(i, i + 3));
  return tf.tensor3d(out, image.shape);
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

// ---------------------------------------------------------------- bounding boxes

/** A box as TF writes it: [ymin, xmin, ymax, xmax], each relative to the image size (0..1). */
export type Box = [number, number, number, number];

/** draw_bounding_boxes' default colour table (RGBA). */
export const BOX_COLORS: number[][] = [
  [1, 1, 0, 1],
  [0, 0, 1, 1],
  [1, 0, 0, 1],
  [0, 1, 0, 1],
  [0.5, 0, 0.5, 1],
  [0.5, 0.5, 0, 1],
  [0.5, 0, 0, 1],
  [0, 0, 0.5, 1],
  [0, 1, 1, 1],
  [1, 0, 1, 1],
];

/**
 * draw_bounding_boxes for one image: 1-pixel outlines at rows ⌊ymin·(h−1)⌋, ⌊ymax·(h−1)⌋ and columns
 * ⌊xmin·(w−1)⌋, ⌊xmax·(w−1)⌋ (truncated like TF's int cast), box i in colour i mod #colours.
 */
export function drawBoundingBoxes(image: Image, boxes: Box[], colors: number[][] = BOX_COLORS): Image {
  const [h, w, c] = image.shape;
  const data = Float32Array.from(image.dataSync() as Float32Array);
  boxes.forEach((box, bi) => {
    const color = colors[bi % colors.length];
    const minRow = Math.trunc(box[0] * (h - 1));
    const maxRow = Math.trunc(box[2] * (h - 1));
    const minCol = Math.trunc(box[1] * (w - 1));
    const maxCol = Math.trunc(box[3] * (w - 1));
    if (minRow > maxRow || minCol > maxCol) return; // TF logs and skips such boxes
    if (minRow >= h || maxRow < 0 || minCol >= w || maxCol < 0) return;
    const r0 = Math.max(minRow, 0);
    const r1 = Math.min(maxRow, h - 1);
    const c0 = Math.max(minCol, 0);
    const c1 = Math.min(maxCol, w - 1);
    const put = (r: number, col: number) => {
      for (let k = 0; k < c; k++) data[(r * w + col) * c + k] = color[k] ?? 1;
    };
    if (minRow >= 0) for (let j = c0; j <= c1; j++) put(minRow, j);
    if (maxRow < h) for (let j = c0; j <= c1; j++) put(maxRow, j);
    if (minCol >= 0) for (let i = r0; i <= r1; i++) put(i, minCol);
    if (maxCol < w) for (let i = r0; i <= r1; i++) put(i, maxCol);
  });
  return tf.tensor3d(data, [h, w, c]);
}

export interface DistortedBoxOptions {
  /** A crop must cover at least this fraction of some box (TF default 0.1). */
  minObjectCovered?: number;
  aspectRatioRange?: [number, number];
  areaRange?: [number, number];
  maxAttempts?: number;
}

export interface DistortedBox {
  /** For tf.slice: [offsetHeight, offsetWidth, 0]. */
  begin: [number, number, number];
  /** For tf.slice: [targetHeight, targetWidth, -1]. */
  size: [number, number, number];
  /** The crop as a relative box [ymin, xmin, ymax, xmax]. */
  box: Box;
}

interface Rect {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

const rectArea = (r: Rect) => Math.max(0, r.maxX - r.minX) * Math.max(0, r.maxY - r.minY);

/** GenerateRandomCrop from sample_distorted_bounding_box_op.cc. */
function generateRandomCrop(rng: Random, width: number, height: number, minRel: number, maxRel: number, aspect: number): Rect | undefined {
  const minArea = Math.fround(minRel * width * height);
  const maxArea = Math.fround(maxRel * width * height);
  let h = lrint(Math.sqrt(minArea / aspect));
  let maxH = lrint(Math.sqrt(maxArea / aspect));
  if (lrint(maxH * aspect) > width) {
    maxH = Math.trunc((width + 0.5 - 1e-7) / aspect);
    if (lrint(maxH * aspect) > width) maxH -= 1;
  }
  if (maxH > height) maxH = height;
  if (h >= maxH) h = maxH;
  if (h < maxH) h += rng.int(maxH - h + 1);
  let w = lrint(h * aspect);
  let area = w * h;
  if (area < minArea) {
    h += 1;
    w = lrint(h * aspect);
    area = w * h;
  }
  if (area > maxArea) {
    h -= 1;
    w = lrint(h * aspect);
    area = w * h;
  }
  if (area < minArea || area > maxArea || w > width || h > height || w <= 0 || h <= 0) return undefined;
  const y = h < height ? rng.int(height - h) : 0;
  const x = w < width ? rng.int(width - w) : 0;
  return { minX: x, minY: y, maxX: x + w, maxY: y + h };
}

/**
 * sample_distorted_bounding_box: a random crop of the given aspect-ratio and area ranges that covers
 * at least `minObjectCovered` of one of the boxes (whole image if none is given), following TF's
 * kernel; after `maxAttempts` failures the whole image. TF's Philox stream is not reproduced — the
 * sequence comes from the seeded `rng`.
 */
export function sampleDistortedBoundingBox(imageShape: readonly number[], boxes: Box[], rng: Random, opts: DistortedBoxOptions = {}): DistortedBox {
  const [height, width] = imageShape;
  const minCovered = opts.minObjectCovered ?? 0.1;
  const [minAspect, maxAspect] = opts.aspectRatioRange ?? [0.75, 1.33];
  const [minArea, maxArea] = opts.areaRange ?? [0.05, 1];
  const attempts = opts.maxAttempts ?? 100;
  for (const b of boxes) {
    if (b.some((v) => v < 0 || v > 1)) throw new UserError(`bounding box [${b}] must lie in [0, 1]`);
  }
  const rects: Rect[] = boxes.map((b) => ({
    minX: Math.trunc(b[1] * width),
    minY: Math.trunc(b[0] * height),
    maxX: Math.trunc(b[3] * width),
    maxY: Math.trunc(b[2] * height),
  }));
  const whole: Rect = { minX: 0, minY: 0, maxX: width, maxY: height };
  if (rects.length === 0) rects.push(whole);
  let crop = whole;
  for (let i = 0; i < attempts; i++) {
    const aspect = Math.fround(rng.next() * (maxAspect - minAspect) + minAspect);
    const candidate = generateRandomCrop(rng, width, height, minArea, maxArea, aspect);
    if (candidate && satisfiesOverlap(candidate, minCovered, rects)) {
      crop = candidate;
      break;
    }
  }
  const th = crop.maxY - crop.minY;
  const tw = crop.maxX - crop.minX;
  return {
    begin: [crop.minY, crop.minX, 0],
    size: [th, tw, -1],
    box: [crop.minY / height, crop.minX / width, crop.maxY / height, crop.maxX / width],
  };
}

function satisfiesOverlap(crop: Rect, minCovered: number, boxes: Rect[]): boolean {
  if (rectArea(crop) < 1) return false;
  for (const box of boxes) {
    const area = rectArea(box);
    if (area < 1) continue;
    const inter: Rect = {
      minX: Math.max(crop.minX, box.minX),
      minY: Math.max(crop.minY, box.minY),
      maxX: Math.min(crop.maxX, box.maxX),
      maxY: Math.min(crop.maxY, box.maxY),
    };
    if (rectArea(inter) / area >= minCovered) return true;
  }
  return false;
}

// ---------------------------------------------------------------- the book's preprocessing

/**
 * The book's distort_color: two orderings of random brightness (±32/255), saturation [0.5, 1.5],
 * hue (±0.2) and contrast [0.5, 1.5], then clipped to [0, 1].
 */
export function distortColor(image: Image, ordering: 0 | 1, rng: Random): Image {
  const steps: Array<(x: Image) => Image> =
    ordering === 0
      ? [
          (x) => randomBrightness(x, 32 / 255, rng),
          (x) => randomSaturation(x, 0.5, 1.5, rng),
          (x) => randomHue(x, 0.2, rng),
          (x) => randomContrast(x, 0.5, 1.5, rng),
        ]
      : [
          (x) => randomSaturation(x, 0.5, 1.5, rng),
          (x) => randomBrightness(x, 32 / 255, rng),
          (x) => randomContrast(x, 0.5, 1.5, rng),
          (x) => randomHue(x, 0.2, rng),
        ];
  return chain(image, [...steps, (x) => clip(x)]);
}

/** Applies ops in turn, disposing intermediates (never the input). */
export function chain(image: Image, ops: Array<(x: Image) => Image>): Image {
  let current = image;
  for (const op of ops) {
    const next = op(current);
    if (current !== image && next !== current) current.dispose();
    current = next;
  }
  return current === image ? image.clone() : current;
}

export interface PreprocessOptions {
  /** sample_distorted_bounding_box's min_object_covered; the book's code uses 0.4. */
  minObjectCovered?: number;
}

/**
 * The book's preprocess_for_train(image, height, width, bbox): convert to float, take a random
 * distorted crop covering the box (whole image when `boxes` is empty), resize it to height × width
 * with a random one of the four methods, random left-right flip, distort_color with a random
 * ordering. Channels other than 3 skip the hue/saturation steps (brightness/contrast only).
 */
export function preprocessForTrain(image: Image, height: number, width: number, boxes: Box[], rng: Random, opts: PreprocessOptions = {}): Image {
  const float = image.dtype === 'float32' ? image : convertImageDtype(image, 'float32');
  const { begin, size } = sampleDistortedBoundingBox(float.shape, boxes.length ? boxes : [[0, 0, 1, 1]], rng, {
    minObjectCovered: opts.minObjectCovered ?? 0.4,
  });
  const method = RESIZE_METHODS[rng.int(4)];
  const ordering = rng.int(2) as 0 | 1;
  const out = chain(float, [
    (x) => cropToBoundingBox(x, begin[0], begin[1], size[0], size[1]),
    (x) => resize(x, [height, width], method),
    (x) => randomFlipLeftRight(x, rng),
    (x) =>
      x.shape[2] === 3
        ? distortColor(x, ordering, rng)
        : chain(x, [(y) => randomBrightness(y, 32 / 255, rng), (y) => randomContrast(y, 0.5, 1.5, rng), (y) => clip(y)]),
  ]);
  if (float !== image) float.dispose();
  return out;
}
