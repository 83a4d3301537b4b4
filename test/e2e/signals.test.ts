import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

/**
 * Ctrl-C, `kill` (Docker, systemd, CI runners) and a closed terminal all stop a long command the
 * same way: the current step finishes, a checkpoint is saved, the event log gets its `end`, and
 * the exit status is 128 + the signal's number.
 */
const ROOT = new URL('../../', import.meta.url);
const work = mkdtempSync(path.join(tmpdir(), 'mnist-signals-'));

function startCli(args: string[]): { child: ChildProcess; output: () => string; closed: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  // 'close', not 'exit': the pipes are drained, so every line the child wrote is in `output`.
  const closed = new Promise<string>((resolve) => child.on('close', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit ${code}`)));
  return { child, output: () => output, closed };
}

async function until(what: string, ready: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function events(dir: string): Array<{ type: string; step?: number }> {
  const file = path.join(dir, 'events.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function savedStep(dir: string): number {
  return Number(/^model_checkpoint_path: "model\.ckpt-(\d+)"$/m.exec(readFileSync(path.join(dir, 'checkpoint'), 'utf8'))?.[1]);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  test(`mnist train: ${signal} saves a checkpoint at the current step, writes the end event and exits ${128 + constants.signals[signal]}`, async () => {
    const dir = path.join(work, `train-${signal}`);
    const run = startCli(['train', '--model-dir', dir, '--steps', '1000000', '--limit', '2000', '--checkpoint-every', '1000000', '--no-progress']);
    await until('training to start', () => events(dir).some((e) => e.type === 'step'));
    run.child.kill(signal);
    assert.equal(await run.closed, `exit ${128 + constants.signals[signal]}`, run.output());
    assert.match(run.output(), new RegExp(`Stopping after this step and saving a checkpoint \\(${signal}`));
    const step = savedStep(dir);
    assert.ok(step > 0 && step < 1000000, `checkpoint at step ${step}`);
    assert.ok(existsSync(path.join(dir, `model.ckpt-${step}.index`)));
    const last = events(dir).at(-1);
    assert.deepEqual([last?.type, last?.step], ['end', step]);
  });
}

test('mnist serve: SIGTERM stops a page-started run with a checkpoint, then the server, exit 143', async () => {
  const dir = path.join(work, 'serve');
  const run = startCli(['serve', '--model-dir', dir, '--port', '0', '--limit', '2000', '--backend', 'cpu']);
  await until('the server to listen', () => /Serving .* at (http:\S+)/.test(run.output()));
  const url = /Serving .* at (http:\S+)/.exec(run.output())![1];
  const started = await fetch(new URL('/api/train', url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'softmax', steps: 20000, checkpointEvery: 100000 }) });
  assert.equal(started.status, 202, await started.text());
  await until('page-started training to run', () => events(dir).some((e) => e.type === 'step'));
  run.child.kill('SIGTERM');
  assert.equal(await run.closed, 'exit 143', run.output());
  const step = savedStep(dir);
  assert.ok(step > 0 && step < 20000, `checkpoint at step ${step}`);
  assert.equal(events(dir).at(-1)?.type, 'end');
});
