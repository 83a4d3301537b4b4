import { IMAGE_PIXELS } from '../../src/data/mnist.js';

/**
 * `tf.keras.utils.normalize(x, axis=1)` on one 28×28 MNIST image, the preprocessing Keras tutorials
 * train with: each pixel column divided by its L2 norm (a column of zeros stays zero).
 */
export function kerasNormalize(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(IMAGE_PIXELS);
  for (let col = 0; col < 28; col++) {
    let sum = 0;
    for (let row = 0; row < 28; row++) sum += pixels[row * 28 + col] ** 2;
    const norm = Math.sqrt(sum) || 1;
    for (let row = 0; row < 28; row++) out[row * 28 + col] = pixels[row * 28 + col] / norm;
  }
  return out;
}
