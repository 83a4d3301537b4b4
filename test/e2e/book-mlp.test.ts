import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';

/**
 * The README's headline in small: the book's MLP with its recipe, a tenth of the 30,000 steps on
 * the whole training set. Measured: 98.08 % test accuracy with the moving averages (98.26 %
 * validation, raw weights), ≈15 s of CPU on the native backend.
 */
test("the book's MLP, 3,000 steps on all 55,000 images → ≥ 97.5 % on the 10,000 test images", { timeout: 600_000 }, () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-book-mlp-')), 'mlp');
  const trained = runCli(['train', '--model-dir', dir, '--steps', '3000', '--no-progress'], { timeoutMs: 600_000 });
  assert.equal(trained.code, 0, trained.stderr);
  const result = JSON.parse(runCli(['test', '--model-dir', dir, '--json']).stdout);
  assert.equal(result.count, 10000);
  assert.equal(result.ema, true);
  assert.ok(result.accuracy >= 0.975, `test accuracy ${result.accuracy}`);
});
