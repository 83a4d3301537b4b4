/** The book's tf.image calls on TensorFlow.js tensors, one module per concern; see image.ts for the conventions. */
export type { Image } from './image.js';
export * from './codecs.js';
export * from './dtype.js';
export * from './resize.js';
export * from './geometry.js';
export * from './colour.js';
export * from './boxes.js';
export * from './book-preprocess.js';
