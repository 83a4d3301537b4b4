import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { latestCheckpoint, Saver } from '../../src/checkpoint/saver.js';
import { tempDir } from './helpers/tmp.js';

const child = fileURLToPath(new URL('./helpers/save-loop.ts', import.meta.url));

/** Runs the save loop, kills it with SIGKILL `delayMs` after its first save, returns the last step it reported. */
async function saveThenKill(dir: string, delayMs: number): Promise<number> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lastReported = 0;
  let killTimer: NodeJS.Timeout | undefined;
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const m of chunk.matchAll(/saved (\d+)/g)) lastReported = Number(m[1]);
    killTimer ??= setTimeout(() => proc.kill('SIGKILL'), delayMs);
  });
  // 'close', not 'exit': the last "saved N" line may still be in the pipe when the process exits.
  await new Promise<void>((resolve) => proc.on('close', () => resolve()));
  clearTimeout(killTimer);
  return lastReported;
}

test('killing a saving process at any moment leaves the newest complete checkpoint loadable', { timeout: 120_000 }, async () => {
  const root = tempDir('kill');
  for (const delayMs of [0, 37, 113, 260]) {
    const dir = path.join(root, `run-${delayMs}`);
    mkdirSync(dir);
    const reported = await saveThenKill(dir, delayMs);
    assert.ok(reported >= 1, 'the child saved at least once');
    const latest = latestCheckpoint(dir);
    assert.ok(latest, 'a latest checkpoint exists');
    const reader = CheckpointReader.open(dir);
    reader.verifyAll();
    const step = Number((reader.tensor('global_step').data as BigInt64Array)[0]);
    assert.equal(path.basename(latest), `model.ckpt-${step}`);
    // The state file may already name the save in flight when the kill came, never an older one.
    assert.ok(step === reported || step === reported + 1, `latest step ${step}, last reported ${reported}`);
    const weights = reader.tensor('weights').data as Float32Array;
    assert.equal(weights.length, 1 << 18);
    assert.ok(weights.every((w) => w === step), 'weights belong to the same step');
  }
  // The next save in such a directory clears the temporary files the killed process left.
  const dir = path.join(root, 'run-260');
  await new Saver().save(path.join(dir, 'model.ckpt'), new Map(), { globalStep: 999 });
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.tmp-')), []);
});
