import { constant, truncatedNormal } from '../variables/initializers.js';
import type { GraphBuilder } from './graph.js';
import type { ModelDefinition } from './model.js';

const IMAGE_SIZE = 28;
const OUTPUT_NODE = 10;

/**
 * slim.conv2d as the book's Inception-v3 excerpt uses it: a variable scope named
 * `Conv2d_<id>_<k>x<k>` holding `weights` and `biases`, SAME padding, stride 1, ReLU.
 */
function slimConv(b: GraphBuilder, x: string, inChannels: number, outChannels: number, k: number, scope: string): string {
  return b.scope(scope, () => {
    const w = b.variable('weights', [k, k, inChannels, outChannels], { initializer: truncatedNormal(0.1) });
    const bias = b.variable('biases', [outChannels], { initializer: constant(0.1) });
    return b.relu(b.biasAdd(b.conv2d(x, w, [1, 1], 'SAME'), bias));
  });
}

/** Output channels of each branch of one Inception module (the 3×3/5×5 branches reduce with a 1×1 first). */
export interface InceptionBranches {
  conv1x1: number;
  reduce3x3: number;
  conv3x3: number;
  reduce5x5: number;
  conv5x5: number;
  poolProj: number;
}

export const moduleDepth = (m: InceptionBranches) => m.conv1x1 + m.conv3x3 + m.conv5x5 + m.poolProj;

/**
 * One Inception module as the book writes Mixed_7c (§6.4): four branches side by side on the same
 * input, every one SAME with stride 1 so their outputs keep the input's height and width, joined
 * on the channel axis (tf.concat(3, [...])). Branch_3 max-pools 3×3 (stride 1) then projects 1×1.
 */
export function inceptionModule(b: GraphBuilder, x: string, inChannels: number, m: InceptionBranches, scope: string): string {
  return b.scope(scope, () => {
    const branch0 = b.scope('Branch_0', () => slimConv(b, x, inChannels, m.conv1x1, 1, 'Conv2d_0a_1x1'));
    const branch1 = b.scope('Branch_1', () => {
      const reduced = slimConv(b, x, inChannels, m.reduce3x3, 1, 'Conv2d_0a_1x1');
      return slimConv(b, reduced, m.reduce3x3, m.conv3x3, 3, 'Conv2d_0b_3x3');
    });
    const branch2 = b.scope('Branch_2', () => {
      const reduced = slimConv(b, x, inChannels, m.reduce5x5, 1, 'Conv2d_0a_1x1');
      return slimConv(b, reduced, m.reduce5x5, m.conv5x5, 5, 'Conv2d_0b_5x5');
    });
    const branch3 = b.scope('Branch_3', () => {
      const pooled = b.scope('MaxPool_0a_3x3', () => b.maxPool(x, [3, 3], [1, 1], 'SAME'));
      return slimConv(b, pooled, inChannels, m.poolProj, 1, 'Conv2d_0b_1x1');
    });
    return b.concat([branch0, branch1, branch2, branch3], 3);
  });
}

const STEM_CHANNELS = 16;
const MIXED_3A: InceptionBranches = { conv1x1: 8, reduce3x3: 8, conv3x3: 16, reduce5x5: 4, conv5x5: 8, poolProj: 8 };
const MIXED_5A: InceptionBranches = { conv1x1: 16, reduce3x3: 12, conv3x3: 24, reduce5x5: 4, conv5x5: 8, poolProj: 8 };

/** The node holding the 4×4×56 image code before the final layer — the transfer bottleneck. */
export const INCEPTION_MINI_BOTTLENECK = 'MaxPool_6a_2x2/Reshape';

/**
 * A small Inception-style CNN for 28×28 digits, named the way slim names Inception-v3:
 * Conv2d_1a_3x3 (16) → MaxPool 2×2 → Mixed_3a (40 channels) → MaxPool 2×2 → Mixed_5a (56) →
 * MaxPool 2×2 → 896-vector (the bottleneck, like Inception-v3's pool_3/_reshape) →
 * dropout 0.2 (Inception-v3 keeps 0.8) → Logits (fc 10). Channel counts are small so a step stays in the
 * milliseconds. Inception-v3 average-pools its last 8×8 map instead; here a 2×2 max-pool keeps
 * more of the 7×7 map for the small fc layer (and tfjs's AvgPool gradient has no fast kernel).
 */
export const inceptionMini: ModelDefinition = {
  name: 'inception-mini',
  description: 'Inception-style CNN: conv16-pool-Mixed(1×1,3×3,5×5,pool)-pool-Mixed-pool-fc10, Adam 1e-3',
  defaults: { learningRate: 1e-3, decayRate: 0.96, staircase: true, l2: 1e-4, batchSize: 100, steps: 6000, optimizer: 'adam', ema: 0.99 },
  build(b, { regularizer }) {
    const input = b.placeholder('x-input', [null, IMAGE_SIZE * IMAGE_SIZE]);
    const image = b.reshape(input, [-1, IMAGE_SIZE, IMAGE_SIZE, 1]);
    const stem = slimConv(b, image, 1, STEM_CHANNELS, 3, 'Conv2d_1a_3x3');
    const pool1 = b.scope('MaxPool_2a_2x2', () => b.maxPool(stem, [2, 2], [2, 2], 'SAME'));
    const mixed3 = inceptionModule(b, pool1, STEM_CHANNELS, MIXED_3A, 'Mixed_3a');
    const pool2 = b.scope('MaxPool_4a_2x2', () => b.maxPool(mixed3, [2, 2], [2, 2], 'SAME'));
    const mixed5 = inceptionModule(b, pool2, moduleDepth(MIXED_3A), MIXED_5A, 'Mixed_5a');
    const depth = 4 * 4 * moduleDepth(MIXED_5A);
    const bottleneck = b.scope('MaxPool_6a_2x2', () => b.reshape(b.maxPool(mixed5, [2, 2], [2, 2], 'SAME'), [-1, depth]));
    const logits = b.scope('Logits', () => {
      const dropped = b.dropout(bottleneck, 0.2);
      const w = b.variable('weights', [depth, OUTPUT_NODE], { initializer: truncatedNormal(0.1), regularizer });
      const bias = b.variable('biases', [OUTPUT_NODE], { initializer: constant(0.1) });
      return b.add2(b.matMul(dropped, w), bias);
    });
    return { input, logits };
  },
};
