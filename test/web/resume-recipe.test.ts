import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { selectBackend } from '../../src/backend/select.js';
import { loadMnist } from '../../src/data/mnist.js';
import { resolveRecipe } from '../../src/train/recipe.js';
import { BOOK_DEFAULTS } from '../../src/train/config.js';
import { train } from '../../src/train/train.js';
import { startServer } from '../../src/web/server.js';

const quiet = { start() {}, step() {}, log() {}, stop() {} };

test('a run resumed from the web page keeps the recipe recorded in the model directory', async () => {
  await selectBackend('cpu');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-web-recipe-'));
  try {
    const data = loadMnist({ limit: 1000 });
    const recipe = { ...BOOK_DEFAULTS, model: 'softmax', modelDir: dir, steps: 20, optimizer: 'adam' as const, learningRate: 0.003, decayRate: 0.5, l2: 0, ema: 0.9, batchSize: 50, checkpointEvery: 10, logEvery: 1e9, seed: 7 };
    await train(recipe, data.train, quiet);
    assert.deepEqual(
      { ...resolveRecipe({ modelDir: dir }).config, checkpointEvery: 0, logEvery: 0 },
      { ...BOOK_DEFAULTS, steps: 20, optimizer: 'adam', learningRate: 0.003, decayRate: 0.5, l2: 0, ema: 0.9, batchSize: 50, seed: 7, checkpointEvery: 0, logEvery: 0 },
    );

    const server = await startServer({ modelDir: dir, port: 0, limit: 1000, backend: 'cpu', log: () => {} });
    try {
      const res = await fetch(new URL('/api/train', server.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ steps: 30 }) });
      assert.equal(res.status, 202, await res.text());
      const deadline = Date.now() + 120_000;
      while (server.job.status().state !== 'done') {
        assert.notEqual(server.job.status().state, 'failed', server.job.status().error);
        assert.ok(Date.now() < deadline, 'the page-started run did not finish');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await server.close();
    }
    const recorded = JSON.parse(readFileSync(path.join(dir, 'mnist-ts.json'), 'utf8'));
    assert.equal(recorded.model, 'softmax');
    assert.deepEqual(
      { optimizer: recorded.recipe.optimizer, learningRate: recorded.recipe.learningRate, decayRate: recorded.recipe.decayRate, ema: recorded.recipe.ema, batchSize: recorded.recipe.batchSize, seed: recorded.recipe.seed, steps: recorded.recipe.steps },
      { optimizer: 'adam', learningRate: 0.003, decayRate: 0.5, ema: 0.9, batchSize: 50, seed: 7, steps: 30 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
