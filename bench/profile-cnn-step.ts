/**
 * Where the whole native step of a CNN (default fast-cnn; its registry batch size and optimizer)
 * goes: CPU time per phase of worker 0 (forward and backward of each layer), against the process's
 * wall and CPU time per step.
 *   node --import tsx bench/profile-cnn-step.ts [threads] [steps] [model]
 */
import { nativeBackend } from '../src/backend/variable-memory.js';
import { selectBackend } from '../src/backend/select.js';
import { BatchIterator } from '../src/data/batches.js';
import { loadMnist } from '../src/data/mnist.js';
import { Model } from '../src/models/model.js';
import { getModelDefinition } from '../src/models/registry.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { gradientStep } from '../src/train/train.js';
await selectBackend('native');
const addon = nativeBackend()!.addon as unknown as { setThreads(n: number): void; cnnStepProfile(on: boolean): Record<string, number> };
addon.setThreads(Number(process.argv[2] ?? 1));
const definition = getModelDefinition(process.argv[4] ?? 'fast-cnn');
const { optimizer = 'adam', beta1 = 0.9, beta2 = 0.999, batchSize = 64 } = definition.defaults;
const model = Model.build(definition, { seed: 1 });
const opt = createOptimizer(optimizer, { momentum: 0, beta1, beta2 });
const it = new BatchIterator(loadMnist({ limit: 5000 }).train, batchSize, 1);
const N = Number(process.argv[3] ?? 100);
for (let i = 0; i < 10; i++) gradientStep(model, opt, it.next(), 1e-3).dispose();
addon.cnnStepProfile(true);
const c0 = process.cpuUsage(); const t0 = performance.now();
for (let i = 0; i < N; i++) gradientStep(model, opt, it.next(), 1e-3).dispose();
const c = process.cpuUsage(c0);
const p = addon.cnnStepProfile(false);
let tot = 0;
for (const [k, v] of Object.entries(p)) { if (k !== 'whole call') tot += v; console.log(k.padEnd(22), (v * 1000 / N).toFixed(3), 'ms'); }
console.log('phases', (tot*1000/N).toFixed(2), 'ms; step wall', ((performance.now()-t0)/N).toFixed(2), 'cpu', ((c.user+c.system)/1000/N).toFixed(2));
