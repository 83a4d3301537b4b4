import type { IncomingMessage } from 'node:http';
import sharp from 'sharp';
import { IMAGE_PIXELS } from '../data/mnist.js';
import { UserError } from '../errors.js';
import { ImageTooLargeError } from '../predict/decode.js';
import { imageToDigits, type DigitInput } from '../predict/preprocess.js';
import { predictDigits } from '../predict/predict.js';
import type { DecodeQueue } from './decode-queue.js';
import { HttpError, mediaType, readBody, readJson, requireObject } from './http.js';

/** Canvas PNGs are a few KiB; JSON with 784 floats is ~16 KiB. */
export const PREDICT_BODY_LIMIT = 1 << 20;

/**
 * Images up to this many pixels (a canvas drawing, a photo crop) decode in a few ms and skip the
 * decoding queue, so they stay fast while big uploads wait their turn.
 */
export const SMALL_IMAGE_PIXELS = 512 * 512;

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'application/octet-stream']);
/** What POST /api/predict accepts (none is a CORS-safelisted type, so other sites cannot send them unasked). */
export const PREDICT_TYPES: ReadonlySet<string> = new Set([...IMAGE_TYPES, 'application/json']);
const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

export interface PredictInput {
  /** The digits found, left to right (one for `pixels`); each one's 784 floats are what the network sees. */
  digits: Array<{ pixels: Float32Array; box: DigitInput['box'] | null }>;
  checkpoint?: string;
}

/**
 * A predict request's image: an image body (`image/png`, …), or JSON with either `pixels`
 * (784 numbers in [0, 1], already MNIST-shaped, used as they are) or `image` (a base64 image,
 * optionally a data: URL). Images are preprocessed exactly as `mnist predict` does: a number is
 * cut into its digits unless `single` is set (`?single=1`, or `"single": true` in JSON).
 */
export async function readPredictInput(req: IncomingMessage, queue?: DecodeQueue, url?: URL): Promise<PredictInput> {
  let single = optionalBoolean(url?.searchParams.get('single') ?? undefined, 'single');
  const decode = async (bytes: Buffer) => {
    const read = () => imageBytesToDigits(bytes, single);
    return queue && (await declaredPixels(bytes)) > SMALL_IMAGE_PIXELS ? queue.run(read) : read();
  };
  const type = mediaType(req);
  if (IMAGE_TYPES.has(type)) return { digits: await decode(await readBody(req, PREDICT_BODY_LIMIT)) };
  if (type !== 'application/json') {
    throw new HttpError(415, `unsupported content type "${type || '(none)'}": send an image (image/png, image/jpeg) or application/json`);
  }
  const body = requireObject(await readJson(req, PREDICT_BODY_LIMIT));
  const checkpoint = optionalCheckpoint(body.checkpoint);
  const known = new Set(['pixels', 'image', 'checkpoint', 'single']);
  const unknown = Object.keys(body).filter((k) => !known.has(k));
  if (unknown.length) throw new HttpError(400, `unknown field "${unknown[0]}" (expected "pixels" or "image", and optionally "checkpoint" and "single")`);
  single = optionalBoolean(body.single, 'single') ?? single;
  if (body.pixels !== undefined && body.image !== undefined) throw new HttpError(400, 'send either "pixels" or "image", not both');
  if (body.pixels !== undefined) return { digits: [{ pixels: parsePixels(body.pixels), box: null }], checkpoint };
  if (body.image !== undefined) return { digits: await decode(decodeBase64Image(body.image)), checkpoint };
  throw new HttpError(400, 'expected "pixels" (784 numbers in [0, 1]) or "image" (a base64 PNG or JPEG)');
}

function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new HttpError(400, `"${name}" must be true or false`);
}

export function optionalCheckpoint(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > 200) throw new HttpError(400, '"checkpoint" must be a checkpoint name such as "model.ckpt-1000"');
  return value;
}

function parsePixels(value: unknown): Float32Array {
  if (!Array.isArray(value) || value.length !== IMAGE_PIXELS) {
    throw new HttpError(400, `"pixels" must be an array of ${IMAGE_PIXELS} numbers (28×28, row by row), got ${Array.isArray(value) ? `${value.length} items` : typeof value}`);
  }
  const pixels = new Float32Array(IMAGE_PIXELS);
  for (let i = 0; i < IMAGE_PIXELS; i++) {
    const v = value[i] as unknown;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw new HttpError(400, `"pixels"[${i}] must be a number in [0, 1], got ${JSON.stringify(v)}`);
    pixels[i] = v;
  }
  return pixels;
}

function decodeBase64Image(value: unknown): Buffer {
  if (typeof value !== 'string') throw new HttpError(400, '"image" must be a base64 string (or a data: URL)');
  const data = value.replace(/^data:[\w/+.-]*(;[\w=-]+)*;base64,/, '');
  if (!BASE64.test(data)) throw new HttpError(400, '"image" is not valid base64');
  const bytes = Buffer.from(data, 'base64');
  if (!bytes.length) throw new HttpError(400, '"image" is empty');
  return bytes;
}

/** Width × height from the image's header; 0 when unreadable (decoding then says why). */
async function declaredPixels(bytes: Buffer): Promise<number> {
  try {
    const { width, height } = await sharp(bytes, { limitInputPixels: false }).metadata();
    return (width ?? 0) * (height ?? 0);
  } catch {
    return 0;
  }
}

async function imageBytesToDigits(bytes: Buffer, single?: boolean): Promise<PredictInput['digits']> {
  if (!bytes.length) throw new HttpError(400, 'request body is empty (expected an image)');
  try {
    return await imageToDigits(bytes, 'upload', { single });
  } catch (err) {
    if (err instanceof ImageTooLargeError) throw new HttpError(413, err.message);
    if (err instanceof UserError) throw new HttpError(400, err.message);
    throw err;
  }
}

const rounded = (values: ArrayLike<number>) => Array.from(values, (v) => Math.round(v * 1000) / 1000);

/**
 * The predict reply: `digit`, `probabilities` and `input` of the first (or only) digit, as before
 * numbers were read, plus `number` and each digit's result left to right.
 */
export function predictReply(model: Parameters<typeof predictDigits>[0], input: PredictInput) {
  const predictions = predictDigits(model, input.digits.map((d) => d.pixels));
  const [first] = predictions;
  return {
    digit: first.digit,
    probabilities: first.probabilities,
    input: rounded(input.digits[0].pixels),
    number: predictions.map((p) => p.digit).join(''),
    digits: predictions.map((p, k) => ({
      digit: p.digit,
      confidence: p.probabilities[p.digit],
      probabilities: p.probabilities,
      input: rounded(input.digits[k].pixels),
      box: input.digits[k].box,
    })),
  };
}
