/**
 * `mnist train`'s step (loss + L2, fused optimizer, EMA) three ways, side by side in one process,
 * alternating timed blocks:
 *   - "op by op": cross-entropy, L2 and the moving-average difference as plain TensorFlow.js ops,
 *     layers as tfjs ops, all differentiated by the tape;
 *   - "own loss": the training loop's loss, L2 and EMA (single tape nodes, native kernels), layers
 *     still tfjs ops (MNIST_FUSED_LAYERS=0);
 *   - "own loss + layers": exactly `mnist train`'s gradientStep, with the one-tape-node layers.
 *   node --import tsx bench/train-loop-step.ts [blocks] [steps per block] [model]   e.g. 7 200 mlp, 5 10 deep-cnn
 */
import * as tf from '@tensorflow/tfjs';
import { inPlaceUpdates } from '../src/backend/in-place-updates.js';
import { backendInfo, selectBackend } from '../src/backend/select.js';
import { sparseSoftmaxCrossEntropyReference } from '../src/train/loss.js';
import { gradientStep } from '../src/train/train.js';
import { GraphKeys, type VariableEntry } from '../src/variables/store.js';
import { trainingSetup } from './train-setup.js';

const blocks = Number(process.argv[2] ?? 7);
const stepsPerBlock = Number(process.argv[3] ?? 200);
const modelName = process.argv[4] ?? 'mlp';
await selectBackend('native');
const { config, model, trainable, optimizer, ema, batches } = trainingSetup(modelName);
const regularized = model.store.getCollection<VariableEntry>(GraphKeys.REGULARIZATION_LOSSES);
const learningRate = config.learningRate / 100;
let globalStep = 0;

type Variant = 'opByOp' | 'ownLoss' | 'ours';
const VARIANTS: Variant[] = ['opByOp', 'ownLoss', 'ours'];

function opByOpStep(): tf.Scalar {
  const batch = batches.next();
  return tf.tidy(() => {
    const xs = tf.tensor2d(batch.images, [batch.labels.length, 784]);
    const ys = tf.tensor1d(batch.labels, 'int32');
    const { value, grads } = tf.variableGrads(() => {
      let total = sparseSoftmaxCrossEntropyReference(model.logits(xs, true), ys);
      for (const v of regularized) total = tf.add(total, tf.mul(config.l2 / 2, tf.sum(tf.square(v.variable))));
      return total as tf.Scalar;
    }, trainable.map((v) => v.variable));
    optimizer.apply(trainable, trainable.map((v) => grads[v.variable.name]), learningRate);
    return tf.keep(value);
  });
}

function step(variant: Variant): void {
  process.env.MNIST_FUSED_LAYERS = variant === 'ours' ? '1' : '0';
  const loss = variant === 'opByOp' ? opByOpStep() : gradientStep(model, optimizer, batches.next(), learningRate);
  globalStep++;
  if (variant === 'opByOp') {
    const a = Math.fround(1 - Math.fround(ema.effectiveDecay(globalStep)));
    for (const v of trainable) {
      const shadow = ema.shadowOf(v);
      const diff = tf.sub(shadow, v.variable);
      inPlaceUpdates(shadow, diff)!.sgd(shadow, diff, a, 0);
      diff.dispose();
    }
  } else {
    ema.apply(trainable, globalStep);
  }
  loss.dataSync();
  loss.dispose();
}

const times: Record<Variant, number[]> = { opByOp: [], ownLoss: [], ours: [] };
for (let i = 0; i < Math.max(6, stepsPerBlock / 4); i++) step(VARIANTS[i % 3]);
for (let b = 0; b < blocks; b++) {
  for (const variant of VARIANTS) {
    const t0 = performance.now();
    for (let i = 0; i < stepsPerBlock; i++) step(variant);
    times[variant].push((performance.now() - t0) / stepsPerBlock);
  }
}
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const base = median(times.opByOp);
console.log(`${modelName} training step (${config.optimizer}, batch ${config.batchSize}, L2 ${config.l2}, EMA), ${blocks} alternating blocks of ${stepsPerBlock} steps, threads ${backendInfo().native.threads}:`);
const labels: Record<Variant, string> = { opByOp: 'op by op', ownLoss: 'own loss, L2, EMA', ours: "+ fused layers (mnist train's step)" };
for (const v of VARIANTS) {
  const ms = median(times[v]);
  console.log(`  ${labels[v].padEnd(38)} ${ms.toFixed(2)} ms/step (median)  ${(base / ms).toFixed(2)}× op by op`);
}
console.log(`tensors ${tf.memory().numTensors}`);
