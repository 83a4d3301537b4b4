/**
 * Values for a graph's placeholders from files: images (turned into MNIST-style 28×28 inputs),
 * JSON arrays, and NumPy `.npy` files. The result is shaped to the placeholder's shape, with
 * its unknown dimension (the batch) worked out from the number of values.
 */
import path from 'node:path';
import { fileError, UserError } from '../errors.js';
import { imageFileToMnist } from '../predict/preprocess.js';
import { readFileOrFail } from '../util/read-file.js';
import { jsonKind, parseJsonText } from '../util/json-text.js';

export interface FeedValue {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff']);

/** `NAME=FILE[,FILE…]` from `--input`. */
export function parseInputFlag(flag: string): { name: string; files: string[] } {
  const eq = flag.indexOf('=');
  if (eq <= 0 || eq === flag.length - 1) throw new UserError(`--input ${flag}: expected NAME=FILE (e.g. x-input=digit.png)`);
  return { name: flag.slice(0, eq), files: flag.slice(eq + 1).split(',') };
}

/** A nested JSON array of numbers (or booleans, as 1/0), or a single one → flat values and shape. */
export function parseJsonArray(text: string, file: string): FeedValue {
  const value = parseJsonText(text, file);
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  const flat: number[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v === 'boolean') flat.push(v ? 1 : 0);
      else if (typeof v === 'number' && Number.isFinite(v)) flat.push(v);
      else throw fileError(file, `expected numbers or booleans, found ${jsonKind(v)}`);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw fileError(file, 'not a rectangular array of numbers');
    v.forEach((x) => walk(x, depth + 1));
  };
  walk(value, 0);
  return { dtype: 'float32', shape, data: Float32Array.from(flat) };
}

/** NumPy `.npy` (format 1–3, C order, little-endian float32/float64/int32/int64/uint8/bool). */
export function parseNpy(bytes: Uint8Array, file: string): FeedValue {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) throw fileError(file, 'not a NumPy .npy file (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw fileError(file, 'bad .npy header');
  if (fortran) throw fileError(file, 'Fortran-ordered .npy arrays are not supported');
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  const body = bytes.slice(offset);
  const sizes: Record<string, number> = { '<f4': 4, '<f8': 8, '<i4': 4, '<i8': 8, '|u1': 1, '|b1': 1 };
  const size = sizes[descr];
  if (!size) throw fileError(file, `.npy dtype ${descr} is not supported (use float32, float64, int32, int64, uint8 or bool)`);
  if (body.length < n * size) throw fileError(file, `truncated .npy file (${body.length} bytes of data, ${n * size} expected)`);
  const buffer = body.buffer.slice(body.byteOffset, body.byteOffset + n * size);
  switch (descr) {
    case '<f4':
      return { dtype: 'float32', shape, data: new Float32Array(buffer) };
    case '<f8':
      return { dtype: 'float32', shape, data: Float32Array.from(new Float64Array(buffer)) };
    case '<i4':
      return { dtype: 'int32', shape, data: new Int32Array(buffer) };
    case '<i8':
      return { dtype: 'int32', shape, data: Int32Array.from(new BigInt64Array(buffer), Number) };
    default:
      return { dtype: 'int32', shape, data: Int32Array.from(new Uint8Array(buffer)) };
  }
}

/** Reads one input file (or several images as a batch). */
export async function readFeedFiles(files: string[]): Promise<FeedValue> {
  const isImage = (f: string) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase());
  if (files.every(isImage)) {
    const images = await Promise.all(files.map((f) => imageFileToMnist(f)));
    const data = new Float32Array(images.length * 784);
    images.forEach((img, i) => data.set(img, i * 784));
    return { dtype: 'float32', shape: [images.length, 784], data };
  }
  if (files.length !== 1) throw new UserError(`several files for one input must all be images: ${files.join(', ')}`);
  const [file] = files;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return parseJsonArray(readFileOrFail(file, 'a .json array').toString('utf8'), file);
  if (ext === '.npy') return parseNpy(readFileOrFail(file, 'a .npy file'), file);
  throw fileError(file, 'unknown input kind (expected an image, a .json array or a .npy file)');
}

/**
 * Fits values to a placeholder's shape: the same number of elements per example, the batch
 * dimension (-1) worked out from the total. Without a known shape the values keep their own.
 */
export function shapeFor(value: FeedValue, placeholderShape: number[] | undefined, where: string): number[] {
  if (!placeholderShape) return value.shape;
  const total = value.data.length;
  const unknown = placeholderShape.filter((d) => d < 0).length;
  const known = placeholderShape.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
  if (unknown > 1) {
    if (value.shape.length === placeholderShape.length && value.shape.every((d, i) => placeholderShape[i] < 0 || placeholderShape[i] === d)) return value.shape;
    throw new UserError(`${where}: cannot fit ${total} values to shape [${placeholderShape.join(', ')}]; give an array with exactly that shape`);
  }
  if (unknown === 0 ? known !== total : known === 0 || total % known !== 0) {
    throw new UserError(`${where}: ${total} values do not fit shape [${placeholderShape.join(', ')}]`);
  }
  return placeholderShape.map((d) => (d < 0 ? total / known : d));
}
