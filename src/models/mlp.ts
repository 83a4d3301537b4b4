import { constant, truncatedNormal, zeros } from '../variables/initializers.js';
import type { ModelDefinition } from './model.js';

const INPUT_NODE = 784;
const LAYER1_NODE = 500;
const OUTPUT_NODE = 10;

/**
 * The book's mnist_inference.py: 784 → 500 ReLU → 10, variables `layer1/weights` … with
 * truncated-normal(0.1) weights and zero biases. Outputs raw logits (seed 004's ReLU on the
 * output layer is a known bug and is not copied).
 */
export const mlp: ModelDefinition = {
  name: 'mlp',
  description: "the book's 784-500-10 network (mnist_inference.py)",
  defaults: { learningRate: 0.8, decayRate: 0.99, l2: 1e-4, batchSize: 100, steps: 30000, optimizer: 'sgd', ema: 0.99 },
  build(b, { regularizer }) {
    const x = b.placeholder('x-input', [null, INPUT_NODE]);
    const hidden = b.scope('layer1', () => {
      const w = b.variable('weights', [INPUT_NODE, LAYER1_NODE], { initializer: truncatedNormal(0.1), regularizer });
      const bias = b.variable('biases', [LAYER1_NODE], { initializer: constant(0) });
      return b.relu(b.add2(b.matMul(x, w), bias));
    });
    const logits = b.scope('layer2', () => {
      const w = b.variable('weights', [LAYER1_NODE, OUTPUT_NODE], { initializer: truncatedNormal(0.1), regularizer });
      const bias = b.variable('biases', [OUTPUT_NODE], { initializer: constant(0) });
      return b.add2(b.matMul(hidden, w), bias);
    });
    return { input: x, logits };
  },
};

/** The Deep MNIST tutorial's first model: softmax regression, W and b initialised to zero. */
export const softmax: ModelDefinition = {
  name: 'softmax',
  description: 'softmax regression 784 → 10 (the Deep MNIST tutorial, ≈92%)',
  defaults: { learningRate: 0.5, decayRate: 1, l2: 0, batchSize: 100, steps: 1000, optimizer: 'sgd', ema: 0 },
  build(b, { regularizer }) {
    const x = b.placeholder('x-input', [null, INPUT_NODE]);
    const w = b.variable('W', [INPUT_NODE, OUTPUT_NODE], { initializer: zeros(), regularizer });
    const bias = b.variable('b', [OUTPUT_NODE], { initializer: zeros() });
    return { input: x, logits: b.add2(b.matMul(x, w), bias) };
  },
};
