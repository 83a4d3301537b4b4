import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { register } from '../../src/cli/commands/inspect.js';
import { UserError } from '../../src/errors.js';
import { formatTensorValues } from '../../src/checkpoint/inspect.js';
import { Saver } from '../../src/checkpoint/saver.js';
import { tempDir } from './helpers/tmp.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const v1v2 = path.join(root, 'test/fixtures/ckpt_v1_v2/model.ckpt');
const adamDir = path.join(root, 'test/fixtures/ckpt_houseprices_adam');

/** Runs `mnist inspect ARGS` in this process, returning what it printed. */
async function inspect(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    await program.parseAsync(['node', 'mnist', 'inspect', ...args]);
  } finally {
    console.log = original;
  }
  return lines.join('\n');
}

test('lists the tensors of a TensorFlow checkpoint directory', async () => {
  const out = await inspect(adamDir);
  const lines = out.split('\n');
  assert.equal(lines[0], `checkpoint: ${path.join(adamDir, 'model.ckpt')}`);
  assert.match(lines[1], /^name\s+dtype\s+shape$/);
  assert.match(out, /\nVariable_2\/Adam_1\s+float32\s+\[100, 5\]\n/);
  assert.match(out, /\nbeta1_power\s+float32\s+\[\]\n/);
  assert.equal(lines.length, 2 + 34 + 1);
  assert.match(lines[lines.length - 1], /^34 tensors, 4,522 values, all checksums OK$/);
});

test('--tensor prints values; --json gives data', async () => {
  assert.equal(await inspect(v1v2, '--tensor', 'v2'), 'tensor_name:  v2  (float32 [1])\n[2]');
  assert.deepEqual(JSON.parse(await inspect(v1v2, '--json')), {
    checkpoint: v1v2,
    tensors: [
      { name: 'v1', dtype: 'float32', shape: [1], bytes: 4 },
      { name: 'v2', dtype: 'float32', shape: [1], bytes: 4 },
    ],
  });
  const dir = tempDir('inspect');
  await new Saver().save(path.join(dir, 'model.ckpt'), new Map([['global_step', { dtype: 'int64' as const, shape: [], data: BigInt64Array.from([30000n]) }]]), { globalStep: 30000 });
  assert.deepEqual(JSON.parse(await inspect(dir, '-t', 'global_step', '--json')), {
    checkpoint: path.join(dir, 'model.ckpt-30000'),
    tensors: [{ name: 'global_step', dtype: 'int64', shape: [], values: 30000 }],
  });
  assert.match(await inspect(v1v2, '--all'), /^tensor_name: {2}v1 {2}\(float32 \[1\]\)\n\[1\]\ntensor_name: {2}v2/);
  await assert.rejects(inspect(v1v2, '--tensor', 'nope'), (e: unknown) => e instanceof UserError && /no tensor named "nope"/.test(e.message));
});

test('values print like numpy, summarised when large', () => {
  assert.equal(formatTensorValues({ dtype: 'float32', shape: [2, 2], data: Float32Array.from([0.1, -2, NaN, Infinity]) }), '[[0.1, -2],\n [nan, inf]]');
  assert.equal(formatTensorValues({ dtype: 'bool', shape: [2], data: Uint8Array.from([1, 0]) }), '[True, False]');
  assert.equal(formatTensorValues({ dtype: 'string', shape: [], data: [new TextEncoder().encode('hi')] }), '"hi"');
  const big = formatTensorValues({ dtype: 'int32', shape: [2000], data: Int32Array.from({ length: 2000 }, (_, i) => i) });
  assert.equal(big, '[0, 1, 2, ..., 1997, 1998, 1999]');
});

test('the CLI entry point prints the table, and one-line errors with exit code 1', { timeout: 60_000 }, () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'inspect', ...args], { cwd: root, encoding: 'utf8' });
  const ok = run('test/fixtures/ckpt_v1_v2/model.ckpt');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, 'checkpoint: test/fixtures/ckpt_v1_v2/model.ckpt\nname  dtype    shape\nv1    float32  [1]\nv2    float32  [1]\n2 tensors, 2 values, all checksums OK\n');
  const bad = run('test/fixtures/no-such-checkpoint');
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, 'error: test/fixtures/no-such-checkpoint: no checkpoint here (test/fixtures/no-such-checkpoint.index does not exist)\n');
});
