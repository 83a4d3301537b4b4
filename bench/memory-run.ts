// Long-run leak check: node --import tsx bench/memory-run.ts [steps=10000] [mlp|deep_cnn] [fused]
// Prints tensor count, RSS and V8 heap every 10% of the run; with `node --expose-gc` it collects
// first, so RSS shows what is really retained (otherwise V8 defers major GCs and RSS creeps up).
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/select.js';
import { MODELS, randomBatch } from './models.js';

const steps = Number(process.argv[2] ?? 10000);
const id = process.argv[3] ?? 'mlp';
const fused = process.argv[4] === 'fused';
console.log(await selectBackend('native'));
const model = MODELS[id](fused);
const { x, y } = randomBatch(model.batch);
const t0 = performance.now();
for (let i = 1; i <= steps; ++i) {
  model.step(x, y);
  if (i % Math.max(1, Math.floor(steps / 10)) === 0 || i === 100) {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const m = process.memoryUsage();
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    console.log(`step ${i}: tensors ${tf.memory().numTensors}, rss ${mib(m.rss)}, heap ${mib(m.heapUsed)}, ` +
      `array buffers ${mib(m.arrayBuffers)}, ${((performance.now() - t0) / i).toFixed(2)} ms/step`);
  }
}
