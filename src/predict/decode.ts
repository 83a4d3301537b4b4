import sharp from 'sharp';
import { UserError, fileError } from '../errors.js';

/** A grey image, one byte a pixel, row by row (0 = black). */
export interface GreyImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Size of the image before it was shrunk (upright), when it was decoded from a file. */
  sourceWidth?: number;
  sourceHeight?: number;
}

/**
 * Longest side of the decoded image. Enough for a row of several digits (a 4000×3000 photo of
 * "2024" keeps digits ~100 pixels tall) and small enough (≤ 256 KiB) to segment in a few ms on
 * the server's main thread.
 */
export const DECODE_MAX_SIDE = 512;

/**
 * Most pixels an image may declare. Decoding streams through the resize, so memory stays at a
 * few MiB whatever the size, but time grows with the pixel count (~30 ms per megapixel for PNG):
 * 4096×4096 decodes in well under a second. JPEG decodes at 1/8 scale when shrinking
 * (shrink-on-load), so four times more is as cheap.
 */
export const MAX_IMAGE_PIXELS = 4096 * 4096;
export const MAX_JPEG_PIXELS = 4 * MAX_IMAGE_PIXELS;

const FORMATS = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff']);
const EXPECTED = 'not a readable image (PNG, JPEG, WebP, GIF or TIFF expected)';

/** An image that is refused for its size before it is decoded (HTTP 413 in the server). */
export class ImageTooLargeError extends UserError {
  override name = 'ImageTooLargeError';
}

function megapixels(n: number): string {
  return `${+(n / 1e6).toFixed(1)} megapixels`;
}

/**
 * Decodes an image straight to a small grey image: the header is checked first (format, pixel
 * count), then one streaming pass shrinks it to at most DECODE_MAX_SIDE on its longest side
 * (never enlarging), turns it upright (EXIF orientation) and grey. Transparent pixels are filled
 * behind the ink: black behind light ink, white behind dark ink, judged by the mean brightness of
 * the opaque pixels (a canvas export is often only ink on transparency).
 */
export async function decodeGrey(bytes: Uint8Array, file: string): Promise<GreyImage> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw fileError(file, EXPECTED);
  }
  const { width, height, format } = meta;
  if (!width || !height || !FORMATS.has(format)) throw fileError(file, EXPECTED);
  const limit = format === 'jpeg' ? MAX_JPEG_PIXELS : MAX_IMAGE_PIXELS;
  if (width * height > limit) {
    throw new ImageTooLargeError(`${file}: image is ${width}×${height} (${megapixels(width * height)}); at most ${megapixels(limit)} are read (scale it down first)`);
  }
  try {
    const image = sharp(bytes, { limitInputPixels: limit, sequentialRead: true, autoOrient: true }).resize(DECODE_MAX_SIDE, DECODE_MAX_SIDE, {
      fit: 'inside',
      withoutEnlargement: true,
    });
    const upright = (meta.orientation ?? 1) >= 5 ? { sourceWidth: height, sourceHeight: width } : { sourceWidth: width, sourceHeight: height };
    if (!meta.hasAlpha) {
      const { data, info } = await image.greyscale().raw().toBuffer({ resolveWithObject: true });
      return { pixels: new Uint8Array(data.buffer, data.byteOffset, info.width * info.height), width: info.width, height: info.height, ...upright };
    }
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    return { pixels: flattenBehindInk(data, info.channels), width: info.width, height: info.height, ...upright };
  } catch {
    throw fileError(file, `${EXPECTED.replace('not a readable image', 'cannot decode the image')}`);
  }
}

/** Grey + alpha (2 channels) or RGBA (4) → grey, with a background chosen to contrast with the ink. */
function flattenBehindInk(data: Uint8Array, channels: number): Uint8Array {
  const n = data.length / channels;
  const lum = new Uint8Array(n);
  let brightness = 0;
  let opaque = 0;
  for (let p = 0, i = 0; p < n; p++, i += channels) {
    const l = channels >= 3 ? 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2] : data[i];
    lum[p] = l;
    if (data[i + channels - 1] >= 128) {
      brightness += l;
      opaque++;
    }
  }
  const background = opaque > 0 && brightness / opaque > 127 ? 0 : 255;
  const out = new Uint8Array(n);
  for (let p = 0, i = channels - 1; p < n; p++, i += channels) {
    const a = data[i];
    out[p] = Math.round((lum[p] * a + background * (255 - a)) / 255);
  }
  return out;
}
