import * as tf from '@tensorflow/tfjs';
import { sparseSoftmaxCrossEntropy } from '../src/train/loss.js';
import { inPlaceUpdates } from '../src/backend/in-place-updates.js';
import { l2Regularizer, regularizationLoss } from '../src/variables/regularizers.js';
import type { Batch } from '../src/data/batches.js';
import { Model } from '../src/models/model.js';
import { getModelDefinition } from '../src/models/registry.js';
import { ExponentialMovingAverage } from '../src/train/ema.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { gradientStep } from '../src/train/train.js';
import type { OptimizerName } from '../src/train/config.js';
import { zeros } from '../src/variables/initializers.js';

/**
 * The three networks of the benchmark, written directly with tfjs ops (same shapes as the book's
 * mnist_inference.py, LeNet-5 chapter and the Deep MNIST tutorial). The plain variants use nothing
 * but TensorFlow.js; the `fused` ones swap in what `mnist train` itself runs on the native backend:
 * in-place optimizer updates, the one-kernel cross-entropy, the L2 term as one tape node and the
 * in-place moving average.
 */
export interface BenchModel {
  name: string;
  batch: number;
  variables: tf.Variable[];
  /** One training step: forward, backward, update. */
  step(x: tf.Tensor, y: tf.Tensor): void;
  /** Logits for a batch, no gradient. */
  infer(x: tf.Tensor): tf.Tensor;
  inputShape: number[];
  dispose(): void;
}

let seed = 1;
const weight = (shape: number[], stddev = 0.1) =>
  tf.variable(tf.truncatedNormal(shape, 0, stddev, 'float32', seed++));
const bias = (n: number, value = 0.1) => tf.variable(tf.fill([n], value));

/** Class indices of one-hot labels, computed once per labels tensor. */
const indicesOf = new WeakMap<tf.Tensor, tf.Tensor1D>();

function crossEntropy(labels: tf.Tensor, logits: tf.Tensor, fused: boolean): tf.Scalar {
  if (!fused) return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  let indices = indicesOf.get(labels);
  if (!indices) {
    indices = tf.keep(tf.argMax(labels, 1).toInt() as tf.Tensor1D);
    indicesOf.set(labels, indices);
  }
  return sparseSoftmaxCrossEntropy(logits as tf.Tensor2D, indices);
}

interface Update {
  apply(grads: tf.NamedTensorMap): void;
  dispose(): void;
}

/** TensorFlow.js's stock optimizer, or (`fused`) the training loop's, which updates in place on native. */
function update(vars: tf.Variable[], name: 'sgd' | 'adam', lr: number, fused: boolean): Update {
  if (!fused) {
    const stock = name === 'sgd' ? tf.train.sgd(lr) : tf.train.adam(lr);
    return { apply: (grads) => stock.applyGradients(grads as Record<string, tf.Variable>), dispose: () => stock.dispose() };
  }
  const entries = vars.map((variable) => ({ name: variable.name, shape: variable.shape, initializer: zeros(), trainable: true, variable }));
  const ours = createOptimizer(name, { momentum: 0 });
  ours.createSlots(entries);
  return { apply: (grads) => ours.apply(entries, vars.map((v) => grads[v.name]), lr), dispose: () => ours.dispose() };
}

function trainer(vars: tf.Variable[], optimizer: Update, loss: (x: tf.Tensor, y: tf.Tensor) => tf.Scalar,
  after?: () => void) {
  return (x: tf.Tensor, y: tf.Tensor) => {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => loss(x, y), vars);
      optimizer.apply(grads);
      value.dispose();
      after?.();
    });
  };
}

/**
 * Book MLP 784-500-10 (ReLU), plain SGD; with `l2Ema`, the book's L2 (1e-4) and EMA (0.99) too.
 * `fused` uses the training loop's optimizer (in-place updates on native, src/backend/in-place-updates.ts).
 */
export function mlp(l2Ema = false, fused = false): BenchModel {
  const w1 = weight([784, 500]), b1 = bias(500), w2 = weight([500, 10]), b2 = bias(10);
  const vars = [w1, b1, w2, b2];
  const shadows = l2Ema ? vars.map((v) => tf.variable(v.clone(), false)) : [];
  const logits = (x: tf.Tensor) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2);
  const l2 = l2Regularizer(1e-4);
  const loss = (x: tf.Tensor, y: tf.Tensor) => {
    const ce = crossEntropy(y, logits(x), fused);
    if (!l2Ema) return ce;
    if (fused) return tf.add(tf.add(ce, regularizationLoss(l2, w1)), regularizationLoss(l2, w2)) as tf.Scalar;
    return tf.add(ce, tf.mul(1e-4, tf.add(tf.sum(tf.square(w1)), tf.sum(tf.square(w2))).div(2))) as tf.Scalar;
  };
  const ema = () => {
    shadows.forEach((s, i) => {
      const inPlace = fused ? inPlaceUpdates(s, vars[i]) : null;
      if (inPlace) inPlace.movingAverage(s, vars[i], 0.01);
      else s.assign(tf.add(tf.mul(s, 0.99), tf.mul(vars[i], 0.01)));
    });
  };
  const optimizer = update(vars, 'sgd', 0.1, fused);
  return {
    name: l2Ema ? 'MLP + L2 + EMA' : 'MLP',
    batch: 100,
    variables: vars,
    inputShape: [784],
    step: trainer(vars, optimizer, loss, l2Ema ? ema : undefined),
    infer: logits,
    dispose: () => {
      [...vars, ...shadows].forEach((v) => v.dispose());
      optimizer.dispose();
    },
  };
}

/** conv5x5x32 SAME → pool → conv5x5x64 → pool → fc(hidden) → fc10; Deep MNIST adds dropout. */
export function cnn(kind: 'book' | 'deep', fused = false): BenchModel {
  const hidden = kind === 'book' ? 512 : 1024;
  const c1 = weight([5, 5, 1, 32]), cb1 = bias(32), c2 = weight([5, 5, 32, 64]), cb2 = bias(64);
  const f1 = weight([7 * 7 * 64, hidden]), fb1 = bias(hidden), f2 = weight([hidden, 10]), fb2 = bias(10);
  const vars = [c1, cb1, c2, cb2, f1, fb1, f2, fb2];
  const forward = (x: tf.Tensor, training: boolean) => {
    const img = x.reshape([-1, 28, 28, 1]) as tf.Tensor4D;
    const h1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(img, c1 as tf.Tensor4D, 1, 'same'), cb1)) as tf.Tensor4D, 2, 2, 'same');
    const h2 = tf.maxPool(tf.relu(tf.add(tf.conv2d(h1, c2 as tf.Tensor4D, 1, 'same'), cb2)) as tf.Tensor4D, 2, 2, 'same');
    let fc = tf.relu(tf.add(tf.matMul(h2.reshape([-1, 7 * 7 * 64]), f1), fb1));
    if (kind === 'deep' && training) fc = tf.dropout(fc, 0.5);
    return tf.add(tf.matMul(fc, f2), fb2);
  };
  const optimizer = kind === 'book' ? update(vars, 'sgd', 0.01, fused) : update(vars, 'adam', 1e-4, fused);
  return {
    name: kind === 'book' ? 'Book CNN' : 'Deep MNIST CNN',
    batch: kind === 'book' ? 100 : 50,
    variables: vars,
    inputShape: [784],
    step: trainer(vars, optimizer, (x, y) => crossEntropy(y, forward(x, true), fused)),
    infer: (x) => forward(x, false),
    dispose: () => {
      vars.forEach((v) => v.dispose());
      optimizer.dispose();
    },
  };
}

/** A batch tensor pair as the training loop's plain arrays, converted once per pair. */
const batchesOf = new WeakMap<tf.Tensor, Batch>();
function asBatch(x: tf.Tensor, y: tf.Tensor): Batch {
  let batch = batchesOf.get(x);
  if (!batch) {
    batch = { images: x.dataSync() as Float32Array, labels: Int32Array.from(tf.tidy(() => tf.argMax(y, 1).dataSync())) };
    batchesOf.set(x, batch);
  }
  return batch;
}

/**
 * A registry model trained by exactly `mnist train`'s step (`gradientStep`: the one-tape-node
 * fused layers, the one-kernel cross-entropy, L2 folded into the in-place optimizer update) plus
 * its moving average when `ema` is set. Same layer shapes as the hand-written networks above.
 */
function trainLoopModel(registryName: string, title: string, o: { optimizer: OptimizerName; lr: number; l2?: number; ema?: number }): BenchModel {
  const model = Model.build(getModelDefinition(registryName), { seed: 1, regularizer: o.l2 ? l2Regularizer(o.l2) : undefined });
  const trainable = model.store.trainable();
  const optimizer = createOptimizer(o.optimizer, { momentum: 0.9 });
  optimizer.createSlots(trainable);
  const ema = o.ema ? new ExponentialMovingAverage(o.ema) : undefined;
  ema?.createShadows(trainable);
  let globalStep = 0;
  return {
    name: title,
    batch: registryName === 'deep-cnn' ? 50 : 100,
    variables: trainable.map((v) => v.variable),
    inputShape: [784],
    step: (x, y) => {
      const loss = gradientStep(model, optimizer, asBatch(x, y), o.lr);
      ema?.apply(trainable, ++globalStep);
      loss.dataSync();
      loss.dispose();
    },
    infer: (x) => model.logits(x as tf.Tensor2D),
    dispose: () => {
      optimizer.dispose();
      ema?.dispose();
      model.store.all().forEach((v) => v.variable.dispose());
    },
  };
}

/** A fixed random batch shaped like MNIST: pixels in [0, 1), one-hot labels. */
export function randomBatch(batch: number): { x: tf.Tensor; y: tf.Tensor } {
  return tf.tidy(() => ({
    x: tf.randomUniform([batch, 784], 0, 1, 'float32', 7),
    y: tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 8), 10).toFloat(),
  }));
}

/** The bench's workloads by id (ids shared with bench/torch_step.py). */
/**
 * The bench's workloads by id (ids shared with bench/torch_step.py). `fused` = what `mnist train`
 * runs: the registry model and the training loop's own step where the registry has the same
 * network (the book CNN's registry version adds dropout, so it keeps the hand-written layers).
 */
export const MODELS: Record<string, (fused: boolean) => BenchModel> = {
  mlp: (fused) => (fused ? trainLoopModel('mlp', 'MLP', { optimizer: 'sgd', lr: 0.1 }) : mlp(false, false)),
  mlp_l2_ema: (fused) => (fused ? trainLoopModel('mlp', 'MLP + L2 + EMA', { optimizer: 'sgd', lr: 0.1, l2: 1e-4, ema: 0.99 }) : mlp(true, false)),
  book_cnn: (fused) => cnn('book', fused),
  deep_cnn: (fused) => (fused ? trainLoopModel('deep-cnn', 'Deep MNIST CNN', { optimizer: 'adam', lr: 1e-4 }) : cnn('deep', false)),
};

export const MODEL_TITLES: Record<string, string> = {
  mlp: 'Book MLP 784-500-10, SGD, batch 100',
  mlp_l2_ema: 'Book MLP with L2 (1e-4) and EMA (0.99), SGD, batch 100',
  book_cnn: 'Book CNN (conv32, conv64, fc512), SGD, batch 100',
  deep_cnn: 'Deep MNIST CNN (conv32, conv64, fc1024, dropout), Adam 1e-4, batch 50',
};
