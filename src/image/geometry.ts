/** Crops, pads and flips (tf.image.crop_to_bounding_box and friends). */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import type { Random } from '../util/random.js';
import type { Image } from './image.js';

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
