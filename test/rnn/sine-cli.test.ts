import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { runCli } from '../helpers/cli.js';

describe('mnist sine (CLI)', () => {
  it('trains, checkpoints with TensorFlow names, reports the RMSE, plots; --evaluate-only restores', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sine-cli-'));
    try {
      const r = runCli(['sine', '--steps', '20', '--log-every', '10', '--checkpoint-every', '10', '--model-dir', dir, '--backend', 'cpu']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^step:0 \| loss:\S+\nstep:10 \| loss:\S+\n/);
      const rmse = /Root Mean Square Error: (\d+\.\d{6})/.exec(r.stdout)![1];
      assert.ok(existsSync(path.join(dir, 'sine-predictions.png')) && existsSync(path.join(dir, 'sine-predictions.svg')));
      const reader = CheckpointReader.open(dir);
      assert.equal(path.basename(reader.prefix), 'model.ckpt-20');
      assert.ok(reader.has('model/rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel'));

      const again = runCli(['sine', '--evaluate-only', '--model-dir', dir, '--backend', 'cpu']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /Restored .*model\.ckpt-20 \(step 20\)/);
      assert.match(again.stdout, new RegExp(`Root Mean Square Error: ${rmse}`));

      const more = runCli(['sine', '--steps', '25', '--resume', '--log-every', '10', '--model-dir', dir, '--backend', 'cpu', '--no-progress']);
      assert.equal(more.code, 0, more.stderr);
      assert.match(more.stdout, /^Resuming from model\.ckpt-20 at step 20\.$/m);
      assert.match(more.stdout, /^Trained 5 steps to step 25 in /m);
      assert.equal(path.basename(CheckpointReader.open(dir).prefix), 'model.ckpt-25');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says in one line when there is no checkpoint to evaluate', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sine-cli-empty-'));
    try {
      const r = runCli(['sine', '--evaluate-only', '--model-dir', path.join(dir, 'none'), '--backend', 'cpu']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: .*none: no checkpoint here/m);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
