import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/select.js';
import { BatchIterator } from '../../src/data/batches.js';
import { loadMnist } from '../../src/data/mnist.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';
import { createOptimizer } from '../../src/train/optimizers.js';
import { gradientStep } from '../../src/train/train.js';
import { l2Regularizer } from '../../src/variables/regularizers.js';

const batch = new BatchIterator(loadMnist({ limit: 100 }).train, 50, 1).next();

/** Ten SGD steps of the book MLP (L2 on) on one batch: the losses and the final logits. */
async function tenSteps(backend: 'cpu' | 'wasm'): Promise<{ losses: number[]; logits: Float32Array }> {
  assert.equal((await selectBackend(backend)).name, backend);
  const model = Model.build(getModelDefinition('mlp'), { seed: 1, regularizer: l2Regularizer(1e-4) });
  const optimizer = createOptimizer('sgd', { momentum: 0 });
  const losses: number[] = [];
  for (let step = 0; step < 10; step++) {
    const loss = gradientStep(model, optimizer, batch, 0.1, step);
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  const logits = tf.tidy(() => model.logits(tf.tensor2d(batch.images, [50, 784])).dataSync() as Float32Array);
  model.dispose();
  return { losses, logits };
}

test('--backend wasm: the book MLP trains on WebAssembly as on the cpu backend (10 steps, losses within 1e-4)', async () => {
  const cpu = await tenSteps('cpu');
  const wasm = await tenSteps('wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(wasm.losses[9] < wasm.losses[0] / 2, `loss ${wasm.losses[0]} → ${wasm.losses[9]}`);
  wasm.losses.forEach((l, i) => assert.ok(Math.abs(l - cpu.losses[i]) < 1e-4, `step ${i}: wasm ${l}, cpu ${cpu.losses[i]}`));
  const worst = wasm.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - cpu.logits[i])), 0);
  assert.ok(worst < 1e-3, `logits differ by ${worst}`);
});
