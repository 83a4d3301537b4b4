/** The book's preprocessing for training (distort_color, preprocess_for_train). */
import type { Random } from '../util/random.js';
import { Box, sampleDistortedBoundingBox } from './boxes.js';
import { clip, randomBrightness, randomContrast, randomHue, randomSaturation } from './colour.js';
import { convertImageDtype } from './dtype.js';
import { cropToBoundingBox, randomFlipLeftRight } from './geometry.js';
import { RESIZE_METHODS, resize } from './resize.js';
import type { Image } from './image.js';

/**
 * The book's distort_color: two orderings of random brightness (±32/255), saturation [0.5, 1.5],
 * hue (±0.2) and contrast [0.5, 1.5], then clipped to [0, 1].
 */
export function distortColor(image: Image, ordering: 0 | 1, rng: Random): Image {
  const steps: Array<(x: Image) => Image> =
    ordering === 0
      ? [
          (x) => randomBrightness(x, 32 / 255, rng),
          (x) => randomSaturation(x, 0.5, 1.5, rng),
          (x) => randomHue(x, 0.2, rng),
          (x) => randomContrast(x, 0.5, 1.5, rng),
        ]
      : [
          (x) => randomSaturation(x, 0.5, 1.5, rng),
          (x) => randomBrightness(x, 32 / 255, rng),
          (x) => randomContrast(x, 0.5, 1.5, rng),
          (x) => randomHue(x, 0.2, rng),
        ];
  return chain(image, [...steps, (x) => clip(x)]);
}

/** Applies ops in turn, disposing intermediates (never the input). */
export function chain(image: Image, ops: Array<(x: Image) => Image>): Image {
  let current = image;
  for (const op of ops) {
    const next = op(current);
    if (current !== image && next !== current) current.dispose();
    current = next;
  }
  return current === image ? image.clone() : current;
}

export interface PreprocessOptions {
  /** sample_distorted_bounding_box's min_object_covered; the book's code uses 0.4. */
  minObjectCovered?: number;
}

/**
 * The book's preprocess_for_train(image, height, width, bbox): convert to float, take a random
 * distorted crop covering the box (whole image when `boxes` is empty), resize it to height × width
 * with a random one of the four methods, random left-right flip, distort_color with a random
 * ordering. Channels other than 3 skip the hue/saturation steps (brightness/contrast only).
 */
export function preprocessForTrain(image: Image, height: number, width: number, boxes: Box[], rng: Random, opts: PreprocessOptions = {}): Image {
  const float = image.dtype === 'float32' ? image : convertImageDtype(image, 'float32');
  const { begin, size } = sampleDistortedBoundingBox(float.shape, boxes.length ? boxes : [[0, 0, 1, 1]], rng, {
    minObjectCovered: opts.minObjectCovered ?? 0.4,
  });
  const method = RESIZE_METHODS[rng.int(4)];
  const ordering = rng.int(2) as 0 | 1;
  const out = chain(float, [
    (x) => cropToBoundingBox(x, begin[0], begin[1], size[0], size[1]),
    (x) => resize(x, [height, width], method),
    (x) => randomFlipLeftRight(x, rng),
    (x) =>
      x.shape[2] === 3
        ? distortColor(x, ordering, rng)
        : chain(x, [(y) => randomBrightness(y, 32 / 255, rng), (y) => randomContrast(y, 0.5, 1.5, rng), (y) => clip(y)]),
  ]);
  if (float !== image) float.dispose();
  return out;
}
