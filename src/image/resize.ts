/** tf.image.resize (v2: half-pixel centres, no antialias), with TensorFlow's bicubic and area kernels. */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import type { Image } from './image.js';

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
export function lrint(x: number): number {
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
