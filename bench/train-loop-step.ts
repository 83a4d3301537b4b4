/**
 * `mnist train`'s book-MLP step (loss + L2, fused SGD, EMA) two ways, side by side in one process,
 * alternating timed blocks: "op by op" (cross-entropy, L2 and the moving-average difference as
 * plain TensorFlow.js ops, differentiated by the tape) against the training loop's own code
 * (single tape nodes with closed-form gradients, the native in-place moving average).
 *   node --import tsx bench/train-loop-step.ts [blocks] [steps per block]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.js';
import { nativeBackend, writable } from '../src/backend/optimizers.js';
import { BatchIterator } from '../src/data/batches.js';
import { loadMnist } from '../src/data/mnist.js';
import { Model } from '../src/models/model.js';
import { getModelDefinition } from '../src/models/registry.js';
import { ExponentialMovingAverage } from '../src/train/ema.js';
import { sparseSoftmaxCrossEntropy, sparseSoftmaxCrossEntropyReference } from '../src/train/loss.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { l2Regularizer, regularizationLoss } from '../src/variables/regularizers.js';
import { GraphKeys, type VariableEntry } from '../src/variables/store.js';

const blocks = Number(process.argv[2] ?? 7);
const stepsPerBlock = Number(process.argv[3] ?? 200);
await selectBackend('native');
const backend = nativeBackend()!;
const model = Model.build(getModelDefinition('mlp'), { seed: 1, regularizer: l2Regularizer(1e-4) });
const trainable = model.store.trainable();
const optimizer = createOptimizer('sgd', { momentum: 0 });
const ema = new ExponentialMovingAverage(0.99);
ema.createShadows(trainable);
const regularized = model.store.getCollection<VariableEntry>(GraphKeys.REGULARIZATION_LOSSES);
const batches = new BatchIterator(loadMnist({ limit: 5000 }).train, 100, 1);
let globalStep = 0;

function step(opByOp: boolean): void {
  const batch = batches.next();
  const loss = tf.tidy(() => {
    const xs = tf.tensor2d(batch.images, [100, 784]);
    const ys = tf.tensor1d(batch.labels, 'int32');
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.logits(xs, true);
      let total = opByOp ? sparseSoftmaxCrossEntropyReference(logits, ys) : sparseSoftmaxCrossEntropy(logits, ys);
      for (const v of regularized) {
        total = tf.add(total, opByOp ? tf.mul(0.5e-4, tf.sum(tf.square(v.variable))) : regularizationLoss(v.regularizer!, v.variable));
      }
      return total as tf.Scalar;
    }, trainable.map((v) => v.variable));
    optimizer.apply(trainable, trainable.map((v) => grads[v.variable.name]), 0.01);
    return tf.keep(value);
  });
  globalStep++;
  if (opByOp) {
    const a = Math.fround(1 - Math.fround(ema.effectiveDecay(globalStep)));
    for (const v of trainable) {
      const shadow = ema.shadowOf(v);
      const diff = tf.sub(shadow, v.variable);
      backend.addon.sgd(writable(backend, shadow), backend.f32(diff), shadow.size, a);
      diff.dispose();
    }
  } else {
    ema.apply(trainable, globalStep);
  }
  loss.dataSync();
  loss.dispose();
}

const times: Record<'opByOp' | 'ours', number[]> = { opByOp: [], ours: [] };
for (let i = 0; i < 30; i++) step(i % 2 === 0);
for (let b = 0; b < blocks; b++) {
  for (const variant of ['opByOp', 'ours'] as const) {
    const t0 = performance.now();
    for (let i = 0; i < stepsPerBlock; i++) step(variant === 'opByOp');
    times[variant].push((performance.now() - t0) / stepsPerBlock);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const [slow, fast] = [median(times.opByOp), median(times.ours)];
console.log(`book MLP training step, ${blocks} alternating blocks of ${stepsPerBlock} steps, threads ${backend.addon.info().threads}:`);
console.log(`  op by op:            ${slow.toFixed(2)} ms/step (median)`);
console.log(`  training loop's own: ${fast.toFixed(2)} ms/step (median)  → ${(slow / fast).toFixed(2)}× faster; tensors ${tf.memory().numTensors}`);
