import { deriveSeed } from '../pipeline/random.js';
import { Random } from '../util/random.js';
import { IMAGE_PIXELS as PIXELS, IMAGE_SIZE as SIZE } from './mnist.js';

// Module-local copies: the per-pixel loops read them a million times a batch, and an imported
// binding can be an accessor (under tsx it is, at ≈ 5× the loops' cost).
const IMAGE_SIZE = SIZE;
const IMAGE_PIXELS = PIXELS;

/**
 * Training-time distortions of MNIST digits: a random affine map (shift, rotation, scale) and,
 * optionally, Simard et al.'s elastic distortion (2003: a random displacement field smoothed by a
 * Gaussian of width `sigma`, scaled by `alpha`). Each output pixel is sampled bilinearly from the
 * source image; outside the image is blank.
 */
export interface AugmentOptions {
  /** Largest shift, in pixels, along each axis. */
  maxShift: number;
  /** Largest rotation, in degrees, either way. */
  maxRotation: number;
  /** Scale drawn from [1 - maxScale, 1 + maxScale]. */
  maxScale: number;
  /** Elastic distortion; absent = none. */
  elastic?: { alpha: number; sigma: number };
}

export type AugmentKind = 'affine' | 'light' | 'elastic';
export const AUGMENT_KINDS: AugmentKind[] = ['affine', 'light', 'elastic'];

export const AUGMENT_PRESETS: Record<AugmentKind, AugmentOptions> = {
  affine: { maxShift: 2, maxRotation: 12, maxScale: 0.1 },
  // For runs of a few epochs, where the full affine range leaves the net short of the clean digits.
  light: { maxShift: 2, maxRotation: 6, maxScale: 0.05 },
  elastic: { maxShift: 2, maxRotation: 12, maxScale: 0.1, elastic: { alpha: 34, sigma: 4 } },
};

export interface LabelledBatch {
  images: Float32Array;
  labels: Int32Array;
}

const CENTRE = (IMAGE_SIZE - 1) / 2;

/**
 * Smoothing a fresh field per image costs ≈20× the affine resampling, so each Augmenter draws a
 * bank of fields once and gives every image a random one, flipped or transposed at random
 * (8 variants each: 8 × FIELD_BANK different fields).
 */
const FIELD_BANK = 256;

export class Augmenter {
  private random: Random;
  /** FIELD_BANK displacement fields, each 784 x-displacements then 784 y-displacements. */
  private readonly bank?: Float32Array;

  constructor(
    readonly options: AugmentOptions,
    seed: number,
  ) {
    this.random = new Random(seed);
    if (options.elastic) this.bank = displacementBank(options.elastic.alpha, options.elastic.sigma, this.random);
  }

  /**
   * Starts a new random stream for the next images (the elastic field bank, drawn from the
   * constructor's seed, stays): what a batch gets then depends on this seed alone.
   */
  reseed(seed: number): void {
    this.random = new Random(seed);
  }

  /** Distorts `count` images of `images` (count × 784, values in [0, 1]) into `out`. */
  apply(images: Float32Array, count: number, out = new Float32Array(count * IMAGE_PIXELS)): Float32Array {
    for (let i = 0; i < count; i++) {
      this.distort(images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS), out.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS));
    }
    return out;
  }

  private uniform(limit: number): number {
    return (2 * this.random.next() - 1) * limit;
  }

  private distort(src: Float32Array, dst: Float32Array): void {
    const { maxShift, maxRotation, maxScale } = this.options;
    const angle = (this.uniform(maxRotation) * Math.PI) / 180;
    const scale = 1 + this.uniform(maxScale);
    const shiftX = this.uniform(maxShift);
    const shiftY = this.uniform(maxShift);
    // Inverse map: output pixel → source position (rotate back by -angle, unscale, unshift).
    const cos = Math.cos(angle) / scale;
    const sin = Math.sin(angle) / scale;
    let field: Float32Array | undefined;
    let signX = 1;
    let signY = 1;
    let transpose = false;
    if (this.bank) {
      const f = this.random.int(FIELD_BANK);
      field = this.bank.subarray(f * 2 * IMAGE_PIXELS, (f + 1) * 2 * IMAGE_PIXELS);
      const variant = this.random.int(8);
      signX = variant & 1 ? -1 : 1;
      signY = variant & 2 ? -1 : 1;
      transpose = (variant & 4) !== 0;
    }
    for (let y = 0; y < IMAGE_SIZE; y++) {
      const dy = y - CENTRE - shiftY;
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const dx = x - CENTRE - shiftX;
        let sx = cos * dx + sin * dy + CENTRE;
        let sy = -sin * dx + cos * dy + CENTRE;
        if (field) {
          const at = transpose ? x * IMAGE_SIZE + y : y * IMAGE_SIZE + x;
          sx += signX * field[at];
          sy += signY * field[IMAGE_PIXELS + at];
        }
        dst[y * IMAGE_SIZE + x] = bilinear(src, sx, sy);
      }
    }
  }
}

/** Uniform noise in [-1, 1] per pixel, Gaussian-smoothed, times alpha (Simard et al.). */
function displacementBank(alpha: number, sigma: number, random: Random): Float32Array {
  const kernel = gaussianKernel(sigma);
  const scratch = new Float32Array(IMAGE_PIXELS);
  const bank = new Float32Array(FIELD_BANK * 2 * IMAGE_PIXELS);
  for (let f = 0; f < 2 * FIELD_BANK; f++) {
    const field = bank.subarray(f * IMAGE_PIXELS, (f + 1) * IMAGE_PIXELS);
    for (let i = 0; i < IMAGE_PIXELS; i++) field[i] = 2 * random.next() - 1;
    smooth(field, scratch, kernel);
    for (let i = 0; i < IMAGE_PIXELS; i++) field[i] *= alpha;
  }
  return bank;
}

function bilinear(src: Float32Array, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  if (x0 >= 0 && y0 >= 0 && x0 < IMAGE_SIZE - 1 && y0 < IMAGE_SIZE - 1) {
    // Inside (most pixels): the same sums as below without the border checks.
    const fx = x - x0;
    const fy = y - y0;
    const row = y0 * IMAGE_SIZE + x0;
    const top = src[row] * (1 - fx) + src[row + 1] * fx;
    const bottom = src[row + IMAGE_SIZE] * (1 - fx) + src[row + IMAGE_SIZE + 1] * fx;
    return top * (1 - fy) + bottom * fy;
  }
  if (x0 < -1 || y0 < -1 || x0 >= IMAGE_SIZE || y0 >= IMAGE_SIZE) return 0;
  const fx = x - x0;
  const fy = y - y0;
  const left = x0 >= 0;
  const right = x0 + 1 < IMAGE_SIZE;
  let top = 0;
  let bottom = 0;
  if (y0 >= 0) {
    const row = y0 * IMAGE_SIZE + x0;
    top = (left ? src[row] * (1 - fx) : 0) + (right ? src[row + 1] * fx : 0);
  }
  if (y0 + 1 < IMAGE_SIZE) {
    const row = (y0 + 1) * IMAGE_SIZE + x0;
    bottom = (left ? src[row] * (1 - fx) : 0) + (right ? src[row + 1] * fx : 0);
  }
  return top * (1 - fy) + bottom * fy;
}

function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Separable Gaussian blur of a 28×28 field in place (zero beyond the border). */
function smooth(field: Float32Array, scratch: Float32Array, kernel: Float32Array): void {
  const r = (kernel.length - 1) / 2;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      let s = 0;
      for (let k = Math.max(-r, -x); k <= Math.min(r, IMAGE_SIZE - 1 - x); k++) s += kernel[k + r] * field[y * IMAGE_SIZE + x + k];
      scratch[y * IMAGE_SIZE + x] = s;
    }
  }
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      let s = 0;
      for (let k = Math.max(-r, -y); k <= Math.min(r, IMAGE_SIZE - 1 - y); k++) s += kernel[k + r] * scratch[(y + k) * IMAGE_SIZE + x];
      field[y * IMAGE_SIZE + x] = s;
    }
  }
}

/**
 * Wraps a batch source (sync or async) so that every batch comes out distorted, labels unchanged.
 * The n-th batch is the one of global step `firstStep + n`, distorted by a stream derived from
 * (seed, that step) alone: a run resumed at step k distorts its batches exactly as the
 * uninterrupted run did.
 */
export function augmentBatches(next: () => LabelledBatch | Promise<LabelledBatch>, options: AugmentOptions, seed: number, firstStep = 0): () => Promise<LabelledBatch> {
  const augmenter = new Augmenter(options, seed);
  let step = firstStep;
  let out = new Float32Array(0);
  return async () => {
    const batch = await next();
    if (out.length !== batch.images.length) out = new Float32Array(batch.images.length);
    augmenter.reseed(deriveSeed(seed, step++));
    augmenter.apply(batch.images, batch.labels.length, out);
    return { images: out, labels: batch.labels };
  };
}
