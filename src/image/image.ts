import type * as tf from '@tensorflow/tfjs';

/**
 * Images are tf.Tensor3D [height, width, channels], with TensorFlow 2.x's semantics for the book's
 * tf.image calls (seed 002 §7.2). TensorFlow's uint8 images are int32 tensors holding 0..255 here
 * (tfjs has no uint8 dtype); float images are float32 in [0, 1]. Ops other than the codecs and
 * convertImageDtype expect float32 images. Random ops take a seeded `Random`.
 */
export type Image = tf.Tensor3D;
