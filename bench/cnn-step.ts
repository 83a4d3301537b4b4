/**
 * A CNN's training step (default fast-cnn; its registry batch size and optimizer) on the native
 * backend, three ways side by side in one process: the gradient tape (op by op), the whole step in
 * one native call with the batch split between the cores, and the whole step on one worker with
 * oneDNN's own threading.
 *   node --import tsx bench/cnn-step.ts [rounds] [steps per block] [threads list, e.g. 1,2] [model]
 * Prints the median wall and CPU ms per step of each way (blocks alternate, so load changes hit all).
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { nativeBackend } from '../src/backend/variable-memory.js';
import { selectBackend } from '../src/backend/select.js';
import { BatchIterator } from '../src/data/batches.js';
import { loadMnist } from '../src/data/mnist.js';
import { Model } from '../src/models/model.js';
import { getModelDefinition } from '../src/models/registry.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { gradientStep } from '../src/train/train.js';
import { wholeStepFor } from '../src/train/whole-step.js';

const rounds = Number(process.argv[2] ?? 5);
const steps = Number(process.argv[3] ?? 50);
const threadList = (process.argv[4] ?? '1,2').split(',').map(Number);
const definition = getModelDefinition(process.argv[5] ?? 'fast-cnn');
const { optimizer: optimizerName = 'adam', beta1 = 0.9, beta2 = 0.999, batchSize = 64, learningRate = 1e-3 } = definition.defaults;
await selectBackend('native');
const addon = nativeBackend()!.addon;
const data = loadMnist({ limit: 5000 }).train;

const WAYS: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'tape', env: { MNIST_WHOLE_STEP: '0' } },
  { name: 'whole, batch split', env: {} },
  { name: 'whole, oneDNN threads', env: { MNIST_CNN_STEP_SPLIT: '0' } },
];

function runner(env: Record<string, string>) {
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  const model = Model.build(definition, { seed: 1 });
  const optimizer = createOptimizer(optimizerName, { momentum: 0, beta1, beta2 });
  optimizer.createSlots(model.store.trainable());
  const whole = wholeStepFor(model, optimizer) !== null;
  for (const k of Object.keys(env)) delete process.env[k];
  const batches = new BatchIterator(data, batchSize, 1);
  return {
    whole,
    block(n: number) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const loss = gradientStep(model, optimizer, batches.next(), learningRate, i);
        loss.dataSync();
        loss.dispose();
      }
      const c = process.cpuUsage(c0);
      return { wall: (performance.now() - t0) / n, cpu: (c.user + c.system) / 1000 / n };
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${definition.name}, batch ${batchSize}, ${optimizerName}. CPU: ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1]}; oneDNN ISA ${addon.info().isa}; load ${os.loadavg()[0].toFixed(1)}`);
for (const threads of threadList) {
  addon.setThreads(threads);
  const ways = WAYS.map((w) => ({ ...w, run: runner(w.env), wall: [] as number[], cpu: [] as number[] }));
  for (const w of ways) w.run.block(5);
  for (let r = 0; r < rounds; r++) {
    for (const w of ways) {
      const t = w.run.block(steps);
      w.wall.push(t.wall);
      w.cpu.push(t.cpu);
    }
  }
  for (const w of ways) {
    console.log(`${threads} thread(s), ${w.name.padEnd(22)} ${median(w.wall).toFixed(2)} ms/step wall, ${median(w.cpu).toFixed(2)} ms CPU${w.run.whole ? '' : ' (tape)'}`);
  }
}
console.log(`load after ${os.loadavg()[0].toFixed(1)}; tensors ${tf.memory().numTensors}`);
