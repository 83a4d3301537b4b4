import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { latestCheckpoint } from '../../src/checkpoint/saver.js';
import { assertSameCheckpoint } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'mnist-resume-cli-'));
const env = { MNIST_NATIVE_THREADS: '1' };

test('mnist train --augment elastic: 20 steps straight = 10, then resumed with the recorded recipe to 20, byte for byte', () => {
  const common = ['--limit', '300', '--batch-size', '25', '--seed', '5', '--no-progress'];
  const straight = path.join(work, 'straight');
  const resumed = path.join(work, 'resumed');
  const a = runCli(['train', '--model-dir', straight, '--steps', '20', '--augment', 'elastic', ...common], { env });
  assert.equal(a.code, 0, a.stderr);
  const b = runCli(['train', '--model-dir', resumed, '--steps', '10', '--augment', 'elastic', ...common], { env });
  assert.equal(b.code, 0, b.stderr);
  // Only the total steps given again: the augmentation, seed and batch size come from mnist-ts.json.
  const c = runCli(['train', '--model-dir', resumed, '--steps', '20', '--limit', '300', '--no-progress'], { env });
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /Resuming with the recorded recipe: .*batch 25.*seed 5, augment elastic/);
  assert.match(c.stdout, /Resuming from model\.ckpt-10 at step 10\./);
  assertSameCheckpoint(latestCheckpoint(resumed)!, latestCheckpoint(straight)!);
});
