/** The long-running commands as users run them: `mnist serve` and `mnist eval` in watch mode, and `eval --limit`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMnist, sliceSplit } from '../../src/data/mnist.js';
import { evaluate, loadModel } from '../../src/eval/evaluate.js';
import { BOOK_DEFAULTS } from '../../src/train/config.js';
import { train, type TrainReporter } from '../../src/train/train.js';
import { fastestBackend } from '../models/backend-for-tests.js';
import { startCli } from '../helpers/cli-process.js';
import { runCli } from '../helpers/cli.js';

await fastestBackend();
const modelDir = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-serve-eval-')), 'mlp');
const data = loadMnist({ limit: 500 });
const silent: TrainReporter = { start() {}, step() {}, log() {}, stop() {} };
const env = { MNIST_NATIVE_THREADS: '1' };

async function trainTo(steps: number): Promise<void> {
  const r = await train({ ...BOOK_DEFAULTS, model: 'mlp', modelDir, steps, batchSize: 50 }, data.train, silent);
  r.model.dispose();
  r.ema?.dispose();
}

await trainTo(20);

test('mnist serve --port 0: listens, answers /api/info, and stops cleanly on SIGINT', async () => {
  const serve = startCli(['serve', '--model-dir', modelDir, '--port', '0', '--limit', '100'], env);
  try {
    const [, url] = await serve.waitFor(/^Serving .* at (http:\/\/127\.0\.0\.1:\d+\/) \(backend \w+\); Ctrl-C to stop$/m);
    const res = await fetch(new URL('api/info', url));
    assert.equal(res.status, 200);
    const info = await res.json();
    assert.equal(info.modelDir, modelDir);
    assert.equal(info.model, 'mlp');
    assert.equal(info.latest, 'model.ckpt-20');
    assert.equal(info.checkpoints, 1);
    serve.child.kill('SIGINT');
    assert.equal(await serve.closed, 130, serve.stderr()); // 128 + SIGINT, as for every stop signal
    assert.match(serve.stderr(), /Stopping \(SIGINT; again to quit at once\)…/);
    await assert.rejects(fetch(new URL('api/info', url)), 'the port is closed');
  } finally {
    serve.child.kill('SIGKILL');
  }
});

test('mnist eval (watch mode) reports each new checkpoint as it appears, and exits 130 on SIGINT', async () => {
  const watch = startCli(['eval', '--model-dir', modelDir, '--interval', '0.2', '--limit', '200'], env);
  try {
    await watch.waitFor(/^After 20 training step\(s\), validation accuracy = [\d.]+$/m);
    await trainTo(40);
    await watch.waitFor(/^After 40 training step\(s\), validation accuracy = [\d.]+$/m);
    // One line per checkpoint, not one per look.
    assert.equal(watch.stdout().trim().split('\n').length, 2, watch.stdout());
    watch.child.kill('SIGINT');
    assert.equal(await watch.closed, 130, watch.stderr());
  } finally {
    watch.child.kill('SIGKILL');
  }
});

test('mnist eval --once --limit N evaluates exactly the first N validation images', () => {
  const loaded = loadModel(modelDir, { useEma: true });
  for (const limit of [37, 200]) {
    const expected = evaluate(loaded.model, sliceSplit(data.validation, 0, limit)).accuracy;
    const r = runCli(['eval', '--model-dir', modelDir, '--once', '--limit', String(limit)], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^After ${loaded.globalStep} training step\\(s\\), validation accuracy = ${expected.toFixed(4).replace('.', '\\.')}$`, 'm'));
  }
  loaded.model.dispose();
});
