import { Random } from '../util/random.js';

/**
 * tf.glorot_uniform_initializer (= tf.contrib.layers.xavier_initializer()): uniform in
 * ±sqrt(6 / (fan_in + fan_out)). It is TensorFlow 1.x's default when get_variable is given no
 * initializer, which is how BasicLSTMCell creates its kernel and fully_connected its weights.
 * For a 1-D shape TensorFlow takes fan_in = fan_out = the length.
 */
export function glorotUniformValues(shape: readonly number[], random: Random): Float32Array {
  const [fanIn, fanOut] = fans(shape);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * random.next() - 1) * limit;
  return out;
}

/** TensorFlow's _compute_fans: the last two dimensions, with receptive field for conv kernels. */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0], shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}
