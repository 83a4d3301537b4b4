import * as tf from '@tensorflow/tfjs';
import type { Model } from '../models/model.js';
import { IMAGE_PIXELS } from '../data/mnist.js';

export interface Prediction {
  digit: number;
  probabilities: number[];
}

/** Softmax probabilities of each image (784 floats in [0, 1] each). */
export function predictDigits(model: Model, images: Float32Array[]): Prediction[] {
  if (!images.length) return [];
  const flat = new Float32Array(images.length * IMAGE_PIXELS);
  images.forEach((img, i) => flat.set(img, i * IMAGE_PIXELS));
  const probs = tf.tidy(() => tf.softmax(model.logits(tf.tensor2d(flat, [images.length, IMAGE_PIXELS]))).arraySync() as number[][]);
  return probs.map((p) => ({ digit: p.indexOf(Math.max(...p)), probabilities: p }));
}
