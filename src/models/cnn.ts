import { constant, truncatedNormal } from '../variables/initializers.js';
import type { Regularizer } from '../variables/regularizers.js';
import type { GraphBuilder } from './graph.js';
import type { BuildOptions, ModelDefinition } from './model.js';

const IMAGE_SIZE = 28;
const INPUT_NODE = IMAGE_SIZE * IMAGE_SIZE;
const OUTPUT_NODE = 10;

/** Every CNN is fed flattened images like the MLP and reshapes them inside the graph. */
function imageInput(b: GraphBuilder): { input: string; image: string } {
  const input = b.placeholder('x-input', [null, INPUT_NODE]);
  return { input, image: b.reshape(input, [-1, IMAGE_SIZE, IMAGE_SIZE, 1]) };
}

interface LayerNames {
  weight: string;
  bias: string;
}

/** The book's names: convolutions hold `weight`/`bias`, fully connected layers `weight`/`biases`. */
const CONV_NAMES: LayerNames = { weight: 'weight', bias: 'bias' };
const FC_NAMES: LayerNames = { weight: 'weight', bias: 'biases' };

/** conv 5×5 → BiasAdd → ReLU inside the caller's scope (tf.nn.conv2d + tf.nn.bias_add). */
function convRelu(b: GraphBuilder, x: string, shape: number[], padding: 'SAME' | 'VALID', biasInit: number, names: LayerNames): string {
  const w = b.variable(names.weight, shape, { initializer: truncatedNormal(0.1) });
  const bias = b.variable(names.bias, [shape[3]], { initializer: constant(biasInit) });
  return b.relu(b.biasAdd(b.conv2d(x, w, [1, 1], padding), bias));
}

/** matmul + biases (tf.matmul(x, w) + b); weights regularised, as the book does for fc layers. */
function dense(b: GraphBuilder, x: string, shape: [number, number], biasInit: number, regularizer: Regularizer | undefined, names: LayerNames): string {
  const w = b.variable(names.weight, shape, { initializer: truncatedNormal(0.1), regularizer });
  const bias = b.variable(names.bias, [shape[1]], { initializer: constant(biasInit) });
  return b.add2(b.matMul(x, w), bias);
}

const pool2x2 = (b: GraphBuilder, x: string, padding: 'SAME' | 'VALID' = 'SAME') => b.maxPool(x, [2, 2], [2, 2], padding);

/**
 * The book's two conv → ReLU → max-pool stages, in its scopes `layer1-conv1` … `layer4-pool2`,
 * flattened to `[-1, features]` for the fully connected layers.
 */
function bookConvFeatures(b: GraphBuilder, image: string, conv1: number[], conv2: number[], padding: 'SAME' | 'VALID', biasInit: number, features: number): string {
  const layer1 = b.scope('layer1-conv1', () => convRelu(b, image, conv1, padding, biasInit, CONV_NAMES));
  const pool1 = b.scope('layer2-pool1', () => pool2x2(b, layer1, padding));
  const layer3 = b.scope('layer3-conv2', () => convRelu(b, pool1, conv2, padding, biasInit, CONV_NAMES));
  const pool2 = b.scope('layer4-pool2', () => pool2x2(b, layer3, padding));
  return b.reshape(pool2, [-1, features]);
}

/**
 * The book's mnist_inference_CNN.py (chapter 6, "LeNet-5"): conv 5×5×32 SAME → max-pool →
 * conv 5×5×64 SAME → max-pool → fc 512 ReLU → dropout 0.5 (training only) → fc 10. Conv biases
 * start at 0, fc biases at 0.1; only the fc weights are L2-regularised. The training script
 * (mnist_train_CNN.py) uses base learning rate 0.01 with a smooth (not staircase) decay of 0.99
 * per epoch — 0.8, the MLP's rate, makes it diverge.
 */
export const bookCnn: ModelDefinition = {
  name: 'book-cnn',
  description: "the book's CNN (mnist_inference_CNN.py): conv32-pool-conv64-pool-fc512-dropout-fc10",
  defaults: { learningRate: 0.01, decayRate: 0.99, staircase: false, l2: 1e-4, batchSize: 100, steps: 30000, optimizer: 'sgd', ema: 0.99 },
  build(b, { regularizer }) {
    const { input, image } = imageInput(b);
    const nodes = 7 * 7 * 64;
    const flat = bookConvFeatures(b, image, [5, 5, 1, 32], [5, 5, 32, 64], 'SAME', 0, nodes);
    const fc1 = b.scope('layer5-fc1', () => b.dropout(b.relu(dense(b, flat, [nodes, 512], 0.1, regularizer, FC_NAMES)), 0.5));
    const logits = b.scope('layer6-fc2', () => dense(b, fc1, [512, OUTPUT_NODE], 0.1, regularizer, FC_NAMES));
    return { input, logits };
  },
};

/**
 * The classic LeNet-5 of the chapter's text: 32×32 input (MNIST padded by 2 on each side),
 * conv 5×5×6 VALID → 28×28 → pool → 14×14 → conv 5×5×16 VALID → 10×10 → pool → 5×5×16 →
 * fc 120 → fc 84 → fc 10. ReLU and max-pooling stand in for the 1998 paper's scaled tanh and
 * trainable subsampling; names follow the book's `layerN-…` scheme.
 */
export const lenet5: ModelDefinition = {
  name: 'lenet5',
  description: 'classic LeNet-5: pad to 32×32, conv6-pool-conv16-pool-fc120-fc84-fc10 (VALID convolutions)',
  defaults: { learningRate: 0.001, decayRate: 0.9, staircase: true, l2: 5e-4, batchSize: 100, steps: 12000, optimizer: 'adam', ema: 0.99 },
  build(b, { regularizer }) {
    const { input, image } = imageInput(b);
    const padded = b.pad(image, [[0, 0], [2, 2], [2, 2], [0, 0]]);
    const nodes = 5 * 5 * 16;
    const flat = bookConvFeatures(b, padded, [5, 5, 1, 6], [5, 5, 6, 16], 'VALID', 0.1, nodes);
    const fc1 = b.scope('layer5-fc1', () => b.relu(dense(b, flat, [nodes, 120], 0.1, regularizer, FC_NAMES)));
    const fc2 = b.scope('layer6-fc2', () => b.relu(dense(b, fc1, [120, 84], 0.1, regularizer, FC_NAMES)));
    const logits = b.scope('layer7-fc3', () => dense(b, fc2, [84, OUTPUT_NODE], 0.1, regularizer, FC_NAMES));
    return { input, logits };
  },
};

const TUTORIAL_NAMES: LayerNames = { weight: 'weights', bias: 'biases' };

/**
 * The Deep MNIST tutorial's network (mnist_deep.py): conv 5×5×32 → pool → conv 5×5×64 → pool →
 * fc 1024 → dropout keep 0.5 → fc 10; all weights truncated-normal(0.1), all biases 0.1; Adam 1e-4,
 * batch 50, 20,000 steps, no decay, no L2. Scopes are the tutorial's name scopes (conv1, pool1, …);
 * it makes anonymous tf.Variables, so the variables here take get_variable-style names
 * (`conv1/weights`, `conv1/biases`…). The tutorial has no moving average; we keep one (0.999) because
 * evaluating the averaged weights is a free gain after Adam's noisy last steps.
 */
export const deepCnn: ModelDefinition = {
  name: 'deep-cnn',
  description: 'the Deep MNIST tutorial CNN (mnist_deep.py): conv32-pool-conv64-pool-fc1024-dropout-fc10, Adam 1e-4',
  defaults: { learningRate: 1e-4, decayRate: 1, l2: 0, batchSize: 50, steps: 20000, optimizer: 'adam', ema: 0.999 },
  build(b, { regularizer }) {
    const input = b.placeholder('x-input', [null, INPUT_NODE]);
    const image = b.scope('reshape', () => b.reshape(input, [-1, IMAGE_SIZE, IMAGE_SIZE, 1]));
    const tutorialConv = (x: string, shape: number[]) => {
      const w = b.variable('weights', shape, { initializer: truncatedNormal(0.1) });
      const bias = b.variable('biases', [shape[3]], { initializer: constant(0.1) });
      return b.relu(b.add2(b.conv2d(x, w, [1, 1], 'SAME'), bias));
    };
    const conv1 = b.scope('conv1', () => tutorialConv(image, [5, 5, 1, 32]));
    const pool1 = b.scope('pool1', () => pool2x2(b, conv1));
    const conv2 = b.scope('conv2', () => tutorialConv(pool1, [5, 5, 32, 64]));
    const pool2 = b.scope('pool2', () => pool2x2(b, conv2));
    const nodes = 7 * 7 * 64;
    const fc1 = b.scope('fc1', () => b.relu(dense(b, b.reshape(pool2, [-1, nodes]), [nodes, 1024], 0.1, regularizer, TUTORIAL_NAMES)));
    const dropped = b.scope('dropout', () => b.dropout(fc1, 0.5));
    const logits = b.scope('fc2', () => dense(b, dropped, [1024, OUTPUT_NODE], 0.1, regularizer, TUTORIAL_NAMES));
    return { input, logits };
  },
};

/** He initialisation for a ReLU layer: truncated normal with σ = √(2 / fan-in). */
const heNormal = (fanIn: number) => truncatedNormal(Math.sqrt(2 / fanIn));

/**
 * Not from the book: mnist-ts's network for the best single-model accuracy with augmentation.
 * VGG-style pairs of 3×3 convolutions — conv 32, conv 32 → pool → conv 64, conv 64 → pool →
 * fc 256 → dropout 0.5 → fc 10 — with He-initialised weights (σ = √(2/fan-in), so four stacked
 * ReLU layers start neither vanishing nor exploding) and biases at 0. Recipe: Adam 1e-3 × 0.85 per
 * epoch, batch 100, 20 epochs, EMA 0.999; train it with `--augment`.
 */
export const vggCnn: ModelDefinition = {
  name: 'vgg-cnn',
  description: "mnist-ts's own: 3×3 conv32-conv32-pool-conv64-conv64-pool-fc256-dropout-fc10 (train with --augment)",
  defaults: { learningRate: 1e-3, decayRate: 0.85, staircase: true, l2: 0, batchSize: 100, steps: 11000, optimizer: 'adam', ema: 0.999 },
  build: (b, opts) => buildVgg(b, opts, false),
};

/**
 * vgg-cnn with batch normalisation after every convolution (tf.layers.batch_normalization: ε 1e-3,
 * momentum 0.99, in each conv's scope as `batch_normalization/{gamma,beta,moving_mean,moving_variance}`),
 * which then has no bias. Its defaults are vgg-cnn's 25-epoch recipe at three times the learning
 * rate (batch normalisation takes it: 3e-3 gave 99.67 / 99.63 % on seeds 1–2, 1e-3 99.59 / 99.57 %,
 * 1e-2 99.61 %): Adam 3e-3 × 0.88 per epoch, 13,750 steps of 100, EMA 0.999 (of the trainable
 * variables; the moving statistics are taken as they are), affine distortions.
 */
export const vggBn: ModelDefinition = {
  name: 'vgg-bn',
  description: 'vgg-cnn with batch normalisation after each convolution: 25 epochs of affine distortions',
  defaults: { learningRate: 3e-3, decayRate: 0.88, staircase: true, l2: 0, batchSize: 100, steps: 13750, optimizer: 'adam', ema: 0.999 },
  augment: 'affine',
  build: (b, opts) => buildVgg(b, opts, true),
};

/** vgg-cnn's graph: conv 3×3 pairs (bias + ReLU, or batch norm + ReLU), pools, fc 256, dropout, fc 10. */
function buildVgg(b: GraphBuilder, { regularizer }: BuildOptions, batchNorm: boolean): { input: string; logits: string } {
  const { input, image } = imageInput(b);
  const conv3x3 = (x: string, inChannels: number, outChannels: number) => {
    const w = b.variable('weights', [3, 3, inChannels, outChannels], { initializer: heNormal(9 * inChannels) });
    const conv = b.conv2d(x, w, [1, 1], 'SAME');
    if (batchNorm) return b.relu(b.scope('batch_normalization', () => batchNormalization(b, conv, outChannels)));
    const bias = b.variable('biases', [outChannels], { initializer: constant(0) });
    return b.relu(b.biasAdd(conv, bias));
  };
  const conv1_1 = b.scope('conv1_1', () => conv3x3(image, 1, 32));
  const conv1_2 = b.scope('conv1_2', () => conv3x3(conv1_1, 32, 32));
  const pool1 = b.scope('pool1', () => pool2x2(b, conv1_2));
  const conv2_1 = b.scope('conv2_1', () => conv3x3(pool1, 32, 64));
  const conv2_2 = b.scope('conv2_2', () => conv3x3(conv2_1, 64, 64));
  const pool2 = b.scope('pool2', () => pool2x2(b, conv2_2));
  const nodes = 7 * 7 * 64;
  const flat = b.reshape(pool2, [-1, nodes]);
  const fc1 = b.scope('fc1', () => {
    const w = b.variable('weights', [nodes, 256], { initializer: heNormal(nodes), regularizer });
    const bias = b.variable('biases', [256], { initializer: constant(0) });
    return b.relu(b.add2(b.matMul(flat, w), bias));
  });
  const dropped = b.scope('dropout', () => b.dropout(fc1, 0.5));
  const logits = b.scope('fc2', () => dense(b, dropped, [256, OUTPUT_NODE], 0.1, regularizer, TUTORIAL_NAMES));
  return { input, logits };
}

/** tf.layers.batch_normalization's variables and fused op in the current scope (γ 1, β 0, moving mean 0, moving variance 1). */
function batchNormalization(b: GraphBuilder, x: string, channels: number): string {
  const gamma = b.variable('gamma', [channels], { initializer: constant(1) });
  const beta = b.variable('beta', [channels], { initializer: constant(0) });
  const mean = b.variable('moving_mean', [channels], { initializer: constant(0), trainable: false });
  const variance = b.variable('moving_variance', [channels], { initializer: constant(1), trainable: false });
  return b.batchNorm(x, gamma, beta, mean, variance, { epsilon: 1e-3, momentum: 0.99 });
}

/**
 * Not from the book: mnist-ts's fastest route to 99 % (`mnist train --model fast-cnn`, one epoch).
 * The shape of a well-known one-epoch MNIST speed recipe — conv 5×5×24 VALID → max-pool → conv
 * 3×3×32 VALID → max-pool → fc 256 → fc 10, ReLU after each hidden layer (ReLU before max-pooling
 * equals pooling first) — He-initialised, trained with Adam β = (0.7, 0.9) under a one-cycle
 * learning rate peaking at 0.01, batch 64, for 1.25 epochs of the 55,000 training images.
 */
/** The one-epoch speed recipe both fast CNNs train with: one-cycle Adam, no L2, no moving average. */
const ONE_CYCLE_ADAM: ModelDefinition['defaults'] = {
  optimizer: 'adam', learningRate: 0.01, beta1: 0.7, beta2: 0.9, schedule: 'one-cycle', warmup: 0.2, decayRate: 1,
  l2: 0, ema: 0, checkpointEvery: 1_000_000,
};

export const fastCnn: ModelDefinition = {
  name: 'fast-cnn',
  description: "mnist-ts's fastest to 99 %: conv24(5×5)-pool-conv32(3×3)-pool-fc256-fc10, 1.25 epochs of one-cycle Adam",
  defaults: {
    ...ONE_CYCLE_ADAM,
    // 1.25 epochs: one epoch (859 steps) gave 98.98–99.02 % over 5 seeds, on the goal's edge.
    batchSize: 64, steps: 1075, validateEvery: 215, logEvery: 215,
  },
  build: (b, opts) => buildFastCnnChain(b, opts, { conv1: 24, conv2: 32, hidden: 256 }),
};

/** The widths of fast-cnn's chain in a model built on it. */
interface FastCnnWidths {
  conv1: number;
  conv2: number;
  hidden: number;
}

/**
 * Not from the book: mnist-ts's 99.5 % in a minute on two cores (issue #22; 99.60 ± 0.05 % over
 * seeds 1–5 in ≈ 30 s, see docs/time-to-accuracy.md). fast-cnn's chain, so the whole native step
 * trains it, widened to conv 5×5×32 → pool → conv 3×3×64 → pool → fc 256 → fc 10; every batch
 * distorted by the `light` preset (shift ±2 px, rotation ±6°, scale ±5 %); one-cycle Adam peaking
 * at 0.005 (fast-cnn's 0.01 gave 99.43 %), label smoothing 0.1, batch 128, 8 epochs.
 */
export const fastCnn995: ModelDefinition = {
  name: 'fast-cnn-995',
  description: "mnist-ts's 99.5 % in a minute: conv32(5×5)-pool-conv64(3×3)-pool-fc256-fc10, 8 epochs of one-cycle Adam with label smoothing on lightly distorted batches",
  defaults: { ...ONE_CYCLE_ADAM, learningRate: 0.005, labelSmoothing: 0.1, batchSize: 128, steps: 3438, validateEvery: 860, logEvery: 860 },
  augment: 'light',
  build: (b, opts) => buildFastCnnChain(b, opts, { conv1: 32, conv2: 64, hidden: 256 }),
};

/**
 * conv 5×5 VALID → ReLU → pool → conv 3×3 VALID → ReLU → pool → fc → ReLU → fc, He-initialised:
 * exactly the chain the whole native step computes (src/train/whole-step.ts).
 */
function buildFastCnnChain(b: GraphBuilder, { regularizer }: { regularizer?: Regularizer }, widths: FastCnnWidths): { input: string; logits: string } {
  const { input, image } = imageInput(b);
  const conv = (x: string, size: number, inChannels: number, outChannels: number) => {
    const w = b.variable('weights', [size, size, inChannels, outChannels], { initializer: heNormal(size * size * inChannels) });
    const bias = b.variable('biases', [outChannels], { initializer: constant(0) });
    return b.relu(b.biasAdd(b.conv2d(x, w, [1, 1], 'VALID'), bias));
  };
  const conv1 = b.scope('conv1', () => conv(image, 5, 1, widths.conv1));
  const pool1 = b.scope('pool1', () => pool2x2(b, conv1, 'VALID'));
  const conv2 = b.scope('conv2', () => conv(pool1, 3, widths.conv1, widths.conv2));
  const pool2 = b.scope('pool2', () => pool2x2(b, conv2, 'VALID'));
  const nodes = 5 * 5 * widths.conv2;
  const flat = b.reshape(pool2, [-1, nodes]);
  const fc1 = b.scope('fc1', () => {
    const w = b.variable('weights', [nodes, widths.hidden], { initializer: heNormal(nodes), regularizer });
    const bias = b.variable('biases', [widths.hidden], { initializer: constant(0) });
    return b.relu(b.add2(b.matMul(flat, w), bias));
  });
  const logits = b.scope('fc2', () => {
    const w = b.variable('weights', [widths.hidden, OUTPUT_NODE], { initializer: truncatedNormal(Math.sqrt(1 / widths.hidden)), regularizer });
    const bias = b.variable('biases', [OUTPUT_NODE], { initializer: constant(0) });
    return b.add2(b.matMul(fc1, w), bias);
  });
  return { input, logits };
}
