/** tf.image.convert_image_dtype: scaling between integer and float images. */
import * as tf from '@tensorflow/tfjs';
import type { Image } from './image.js';

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
