// Per-kernel time of training steps on the native backend: node --import tsx bench/profile-step.ts [mlp|cnn|deep] [steps]
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.js';
import { kernelProfiler } from '../src/backend/profiler.js';
import { cnn, mlp, randomBatch, type BenchModel } from './models.js';

const which = process.argv[2] ?? 'mlp';
const steps = Number(process.argv[3] ?? 20);
await selectBackend('native');
const fused = process.argv[4] === 'fused';
const model: BenchModel = which === 'mlp' ? mlp(false, fused) : which === 'mlpx' ? mlp(true, fused) : cnn(which === 'cnn' ? 'book' : 'deep', fused);
const { x, y } = randomBatch(model.batch);
for (let i = 0; i < 5; ++i) model.step(x, y);
kernelProfiler.enabled = true;
const t0 = performance.now();
for (let i = 0; i < steps; ++i) model.step(x, y);
const total = (performance.now() - t0) / steps;
kernelProfiler.enabled = false;
let kernelSum = 0;
console.log(`${model.name}: ${total.toFixed(2)} ms/step, per step by kernel:`);
for (const k of kernelProfiler.report()) {
  kernelSum += k.totalMs / steps;
  console.log(`${k.kernel.padEnd(24)} ${(k.totalMs / steps).toFixed(3).padStart(8)} ms  ${String(k.calls / steps).padStart(4)} calls  ${k.native ? 'native' : 'js'}`);
}
console.log(`${'(kernels total)'.padEnd(24)} ${kernelSum.toFixed(3).padStart(8)} ms; engine/JS overhead ${(total - kernelSum).toFixed(3)} ms`);
console.log('tensors', tf.memory().numTensors);
