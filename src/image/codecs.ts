/** Image codecs: bytes ↔ image tensors (sharp/libvips), with tf.image.decode_*'s behaviour. */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { UserError } from '../errors.js';
import { convertImageDtype } from './dtype.js';
import type { Image } from './image.js';

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
