/**
 * Where `mnist train --model fast-cnn`'s step goes, on the native backend, in wall and CPU time
 * (the CPU time is what counts on a shared machine): node --import tsx bench/profile-fast-cnn.ts [model] [steps] [batch]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.js';
import { kernelProfiler } from '../src/backend/profiler.js';
import { BatchIterator } from '../src/data/batches.js';
import { loadMnist } from '../src/data/mnist.js';
import { Model } from '../src/models/model.js';
import { getModelDefinition } from '../src/models/registry.js';
import { BOOK_DEFAULTS } from '../src/train/config.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { gradientStep } from '../src/train/train.js';

const modelName = process.argv[2] ?? 'fast-cnn';
const steps = Number(process.argv[3] ?? 100);
await selectBackend('native');
const definition = getModelDefinition(modelName);
const config = { ...BOOK_DEFAULTS, ...definition.defaults };
if (process.argv[4]) config.batchSize = Number(process.argv[4]);
const model = Model.build(definition, { seed: 1 });
const optimizer = createOptimizer(config.optimizer, { momentum: config.momentum, beta1: config.beta1, beta2: config.beta2 });
optimizer.createSlots(model.store.trainable());
const batches = new BatchIterator(loadMnist({ limit: 5000 }).train, config.batchSize, 1);
const step = () => {
  const loss = gradientStep(model, optimizer, batches.next(), 1e-4);
  loss.dataSync();
  loss.dispose();
};
const timed = (n: number) => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / n, cpu: (c.user + c.system) / 1000 / n };
};
for (let i = 0; i < 10; i++) step();
const plain = timed(steps);
console.log(`${modelName} batch ${config.batchSize}: ${plain.wall.toFixed(2)} ms/step wall, ${plain.cpu.toFixed(2)} ms/step CPU`);
kernelProfiler.enabled = true;
const profiled = timed(steps);
kernelProfiler.enabled = false;
let kernelSum = 0;
for (const k of kernelProfiler.report()) {
  kernelSum += k.totalMs / steps;
  console.log(`${k.kernel.padEnd(24)} ${(k.totalMs / steps).toFixed(3).padStart(8)} ms  ${String(k.calls / steps).padStart(5)} calls  ${k.native ? 'native' : 'js'}`);
}
console.log(`${'(kernels total)'.padEnd(24)} ${kernelSum.toFixed(3).padStart(8)} ms of ${profiled.wall.toFixed(2)} ms wall (profiled); engine/JS ${(profiled.wall - kernelSum).toFixed(3)} ms; tensors ${tf.memory().numTensors}`);
