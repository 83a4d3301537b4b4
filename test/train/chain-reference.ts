import * as tf from '@tensorflow/tfjs';
import type { ChainLayer } from '../../src/models/layer-chain.js';

/**
 * The logits of a layer chain written out in plain tfjs ops, straight from its description: the
 * reference the whole native step is checked against. `weights` are W, b of each layer (W, γ, β of
 * a batch-normalised conv layer, normalised with the batch's statistics as when training);
 * `masks` gives each dropout layer's mask (0 or 1/keep per element), by layer index.
 */
export function chainLogits(layers: ChainLayer[], weights: tf.Tensor[], images: tf.Tensor2D, masks: Map<number, tf.Tensor> = new Map()): tf.Tensor2D {
  let x: tf.Tensor = images;
  let next = 0;
  const take = () => weights[next++];
  layers.forEach((l, i) => {
    const w = take();
    if (l.kind === 'conv') {
      if (x.rank === 2) x = tf.reshape(x, [-1, l.h, l.h, l.in]);
      x = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, l.same ? 'same' : 'valid');
      if (l.batchNorm) {
        const [gamma, beta] = [take(), take()];
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        x = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, l.batchNorm.epsilon))), gamma), beta);
      } else {
        x = tf.add(x, take());
      }
      if (l.relu) x = tf.relu(x);
      if (l.pool) x = tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid');
      const mask = masks.get(i);
      if ((l.keep ?? 1) < 1 && mask) x = tf.mul(x, tf.reshape(mask, x.shape));
    } else {
      if (x.rank !== 2) x = tf.reshape(x, [-1, l.in]);
      x = tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), take());
      if (l.relu) x = tf.relu(x);
      const mask = masks.get(i);
      if (l.keep < 1 && mask) x = tf.mul(x, mask);
    }
  });
  return x as tf.Tensor2D;
}
