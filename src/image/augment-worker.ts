/**
 * Worker-thread map function for JPEG-encoded training examples (Dataset.mapParallel):
 * parse the Example, decode the JPEG, apply the book's preprocess_for_train, return pixels.
 *
 *   Dataset.tfRecord(files).map((bytes, …) => ({ bytes, seed }))
 *     .mapParallel(new URL('../image/augment-worker.js', import.meta.url), 'decodeAndAugment', { parallelism: 2 })
 */
import * as tf from '@tensorflow/tfjs';
import { parseSingleExample, fixedLenFeature } from '../formats/example.js';
import { Random } from '../util/random.js';
import { selectBackend } from '../backend/select.js';
import { decodeJpeg, preprocessForTrain } from './ops.js';

await selectBackend('cpu');

export interface AugmentInput {
  /** A serialized tf.train.Example with `image_jpeg` (bytes) and `label` (int64). */
  bytes: Uint8Array;
  /** Per-example seed, so results do not depend on which worker ran them. */
  seed: number;
  /** Output size (default 28 × 28). */
  height?: number;
  width?: number;
}

export interface AugmentOutput {
  image: Float32Array;
  label: number;
}

const SPEC = { image_jpeg: fixedLenFeature([], 'string'), label: fixedLenFeature([], 'int64') };

export async function decodeAndAugment(input: AugmentInput): Promise<AugmentOutput> {
  const ex = parseSingleExample(input.bytes, SPEC);
  const decoded = await decodeJpeg((ex.image_jpeg.values as Uint8Array[])[0]);
  const out = preprocessForTrain(decoded, input.height ?? 28, input.width ?? 28, [], new Random(input.seed));
  const image = out.dataSync() as Float32Array;
  tf.dispose([decoded, out]);
  return { image: Float32Array.from(image), label: Number((ex.label.values as BigInt64Array)[0]) };
}

/**
 * A whole batch per message: the JPEG decodes run concurrently on libvips' threads (sharp's
 * per-image latency dominates for small images), then each image is augmented.
 */
export async function decodeAndAugmentBatch(inputs: AugmentInput[]): Promise<AugmentOutput[]> {
  const parsed = inputs.map((input) => parseSingleExample(input.bytes, SPEC));
  const decoded = await Promise.all(parsed.map((ex) => decodeJpeg((ex.image_jpeg.values as Uint8Array[])[0])));
  return decoded.map((image, i) => {
    const input = inputs[i];
    const out = preprocessForTrain(image, input.height ?? 28, input.width ?? 28, [], new Random(input.seed));
    const pixels = Float32Array.from(out.dataSync() as Float32Array);
    tf.dispose([image, out]);
    return { image: pixels, label: Number((parsed[i].label.values as BigInt64Array)[0]) };
  });
}
