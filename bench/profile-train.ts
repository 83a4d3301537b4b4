/**
 * Per-kernel time of `mnist train`'s own step (registry model, loss + L2, optimizer, EMA) on the
 * native backend, on real MNIST batches:
 *   node --import tsx bench/profile-train.ts [model] [steps]      e.g. mlp 200, deep-cnn 20
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.js';
import { kernelProfiler } from '../src/backend/profiler.js';
import { gradientStep } from '../src/train/train.js';
import { trainingSetup } from './train-setup.js';

const modelName = process.argv[2] ?? 'mlp';
const steps = Number(process.argv[3] ?? 200);
await selectBackend('native');
const { config, model, trainable, optimizer, ema, batches } = trainingSetup(modelName);

function step(globalStep: number): number {
  const loss = gradientStep(model, optimizer, batches.next(), config.learningRate * 0.01);
  ema.apply(trainable, globalStep);
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
