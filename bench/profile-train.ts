/**
 * Per-kernel time of `mnist train`'s own step (registry model, loss + L2, optimizer, EMA) on the
 * native backend, on real MNIST batches:
 *   node --import tsx bench/profile-train.ts [model] [steps]      e.g. mlp 200, deep-cnn 20
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.js';
import { kernelProfiler } from '../src/backend/profiler.js';
import { BatchIterator } from '../src/data/batches.js';
import { loadMnist } from '../src/data/mnist.js';
import { Model } from '../src/models/model.js';
import { getModelDefinition } from '../src/models/registry.js';
import { BOOK_DEFAULTS } from '../src/train/config.js';
import { ExponentialMovingAverage } from '../src/train/ema.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { gradientStep } from '../src/train/train.js';
import { l2Regularizer } from '../src/variables/regularizers.js';

const modelName = process.argv[2] ?? 'mlp';
const steps = Number(process.argv[3] ?? 200);
await selectBackend('native');
const definition = getModelDefinition(modelName);
const config = { ...BOOK_DEFAULTS, ...definition.defaults };
const model = Model.build(definition, { seed: 1, regularizer: config.l2 > 0 ? l2Regularizer(config.l2) : undefined });
const trainable = model.store.trainable();
const optimizer = createOptimizer(config.optimizer, { momentum: config.momentum });
optimizer.createSlots(trainable);
const ema = config.ema > 0 ? new ExponentialMovingAverage(config.ema) : undefined;
ema?.createShadows(trainable);
const batches = new BatchIterator(loadMnist({ limit: 5000 }).train, config.batchSize, 1);

function step(globalStep: number): number {
  const loss = gradientStep(model, optimizer, batches.next(), config.learningRate * 0.01);
  ema?.apply(trainable, globalStep);
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

for (let i = 0; i < 10; i++) step(i + 1);
kernelProfiler.enabled = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) step(i + 11);
const total = (performance.now() - t0) / steps;
kernelProfiler.enabled = false;
let kernelSum = 0;
console.log(`${modelName} (mnist train's step): ${total.toFixed(2)} ms/step, per step by kernel:`);
for (const k of kernelProfiler.report()) {
  kernelSum += k.totalMs / steps;
  console.log(`${k.kernel.padEnd(24)} ${(k.totalMs / steps).toFixed(3).padStart(8)} ms  ${String(k.calls / steps).padStart(5)} calls  ${k.native ? 'native' : 'js'}`);
}
console.log(`${'(kernels total)'.padEnd(24)} ${kernelSum.toFixed(3).padStart(8)} ms; engine/JS overhead ${(total - kernelSum).toFixed(3)} ms`);
kernelProfiler.enabled = false;
const t1 = performance.now();
for (let i = 0; i < steps; i++) step(i + 11 + steps);
console.log(`without the profiler: ${((performance.now() - t1) / steps).toFixed(2)} ms/step; tensors ${tf.memory().numTensors}`);
