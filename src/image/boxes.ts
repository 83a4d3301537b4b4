/** Bounding boxes: drawing them, and tf.image.sample_distorted_bounding_box. */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import type { Random } from '../util/random.js';
import { lrint } from './resize.js';
import type { Image } from './image.js';

/** A box as TF writes it: [ymin, xmin, ymax, xmax], each relative to the image size (0..1). */
export type Box = [number, number, number, number];

/** draw_bounding_boxes' default colour table (RGBA). */
export const BOX_COLORS: number[][] = [
  [1, 1, 0, 1],
  [0, 0, 1, 1],
  [1, 0, 0, 1],
  [0, 1, 0, 1],
  [0.5, 0, 0.5, 1],
  [0.5, 0.5, 0, 1],
  [0.5, 0, 0, 1],
  [0, 0, 0.5, 1],
  [0, 1, 1, 1],
  [1, 0, 1, 1],
];

/**
 * draw_bounding_boxes for one image: 1-pixel outlines at rows ⌊ymin·(h−1)⌋, ⌊ymax·(h−1)⌋ and columns
 * ⌊xmin·(w−1)⌋, ⌊xmax·(w−1)⌋ (truncated like TF's int cast), box i in colour i mod #colours.
 */
export function drawBoundingBoxes(image: Image, boxes: Box[], colors: number[][] = BOX_COLORS): Image {
  const [h, w, c] = image.shape;
  const data = Float32Array.from(image.dataSync() as Float32Array);
  boxes.forEach((box, bi) => {
    const color = colors[bi % colors.length];
    const minRow = Math.trunc(box[0] * (h - 1));
    const maxRow = Math.trunc(box[2] * (h - 1));
    const minCol = Math.trunc(box[1] * (w - 1));
    const maxCol = Math.trunc(box[3] * (w - 1));
    if (minRow > maxRow || minCol > maxCol) return; // TF logs and skips such boxes
    if (minRow >= h || maxRow < 0 || minCol >= w || maxCol < 0) return;
    const r0 = Math.max(minRow, 0);
    const r1 = Math.min(maxRow, h - 1);
    const c0 = Math.max(minCol, 0);
    const c1 = Math.min(maxCol, w - 1);
    const put = (r: number, col: number) => {
      for (let k = 0; k < c; k++) data[(r * w + col) * c + k] = color[k] ?? 1;
    };
    if (minRow >= 0) for (let j = c0; j <= c1; j++) put(minRow, j);
    if (maxRow < h) for (let j = c0; j <= c1; j++) put(maxRow, j);
    if (minCol >= 0) for (let i = r0; i <= r1; i++) put(i, minCol);
    if (maxCol < w) for (let i = r0; i <= r1; i++) put(i, maxCol);
  });
  return tf.tensor3d(data, [h, w, c]);
}

export interface DistortedBoxOptions {
  /** A crop must cover at least this fraction of some box (TF default 0.1). */
  minObjectCovered?: number;
  aspectRatioRange?: [number, number];
  areaRange?: [number, number];
  maxAttempts?: number;
}

export interface DistortedBox {
  /** For tf.slice: [offsetHeight, offsetWidth, 0]. */
  begin: [number, number, number];
  /** For tf.slice: [targetHeight, targetWidth, -1]. */
  size: [number, number, number];
  /** The crop as a relative box [ymin, xmin, ymax, xmax]. */
  box: Box;
}

interface Rect {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

const rectArea = (r: Rect) => Math.max(0, r.maxX - r.minX) * Math.max(0, r.maxY - r.minY);

/** GenerateRandomCrop from sample_distorted_bounding_box_op.cc. */
function generateRandomCrop(rng: Random, width: number, height: number, minRel: number, maxRel: number, aspect: number): Rect | undefined {
  const minArea = Math.fround(minRel * width * height);
  const maxArea = Math.fround(maxRel * width * height);
  let h = lrint(Math.sqrt(minArea / aspect));
  let maxH = lrint(Math.sqrt(maxArea / aspect));
  if (lrint(maxH * aspect) > width) {
    maxH = Math.trunc((width + 0.5 - 1e-7) / aspect);
    if (lrint(maxH * aspect) > width) maxH -= 1;
  }
  if (maxH > height) maxH = height;
  if (h >= maxH) h = maxH;
  if (h < maxH) h += rng.int(maxH - h + 1);
  let w = lrint(h * aspect);
  let area = w * h;
  if (area < minArea) {
    h += 1;
    w = lrint(h * aspect);
    area = w * h;
  }
  if (area > maxArea) {
    h -= 1;
    w = lrint(h * aspect);
    area = w * h;
  }
  if (area < minArea || area > maxArea || w > width || h > height || w <= 0 || h <= 0) return undefined;
  const y = h < height ? rng.int(height - h) : 0;
  const x = w < width ? rng.int(width - w) : 0;
  return { minX: x, minY: y, maxX: x + w, maxY: y + h };
}

/**
 * sample_distorted_bounding_box: a random crop of the given aspect-ratio and area ranges that covers
 * at least `minObjectCovered` of one of the boxes (whole image if none is given), following TF's
 * kernel; after `maxAttempts` failures the whole image. TF's Philox stream is not reproduced — the
 * sequence comes from the seeded `rng`.
 */
export function sampleDistortedBoundingBox(imageShape: readonly number[], boxes: Box[], rng: Random, opts: DistortedBoxOptions = {}): DistortedBox {
  const [height, width] = imageShape;
  const minCovered = opts.minObjectCovered ?? 0.1;
  const [minAspect, maxAspect] = opts.aspectRatioRange ?? [0.75, 1.33];
  const [minArea, maxArea] = opts.areaRange ?? [0.05, 1];
  const attempts = opts.maxAttempts ?? 100;
  for (const b of boxes) {
    if (b.some((v) => v < 0 || v > 1)) throw new UserError(`bounding box [${b}] must lie in [0, 1]`);
  }
  const rects: Rect[] = boxes.map((b) => ({
    minX: Math.trunc(b[1] * width),
    minY: Math.trunc(b[0] * height),
    maxX: Math.trunc(b[3] * width),
    maxY: Math.trunc(b[2] * height),
  }));
  const whole: Rect = { minX: 0, minY: 0, maxX: width, maxY: height };
  if (rects.length === 0) rects.push(whole);
  let crop = whole;
  for (let i = 0; i < attempts; i++) {
    const aspect = Math.fround(rng.next() * (maxAspect - minAspect) + minAspect);
    const candidate = generateRandomCrop(rng, width, height, minArea, maxArea, aspect);
    if (candidate && satisfiesOverlap(candidate, minCovered, rects)) {
      crop = candidate;
      break;
    }
  }
  const th = crop.maxY - crop.minY;
  const tw = crop.maxX - crop.minX;
  return {
    begin: [crop.minY, crop.minX, 0],
    size: [th, tw, -1],
    box: [crop.minY / height, crop.minX / width, crop.maxY / height, crop.maxX / width],
  };
}

function satisfiesOverlap(crop: Rect, minCovered: number, boxes: Rect[]): boolean {
  if (rectArea(crop) < 1) return false;
  for (const box of boxes) {
    const area = rectArea(box);
    if (area < 1) continue;
    const inter: Rect = {
      minX: Math.max(crop.minX, box.minX),
      minY: Math.max(crop.minY, box.minY),
      maxX: Math.min(crop.maxX, box.maxX),
      maxY: Math.min(crop.maxY, box.maxY),
    };
    if (rectArea(inter) / area >= minCovered) return true;
  }
  return false;
}
