/**
 * The CLI users run: `bin/mnist.js` over the compiled `dist/` (not `src/` through tsx), once in
 * place and once from a copy of the package without the native addon, where `--backend auto`
 * must fall back to wasm and say so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requirement } from '../helpers/requirements.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Newest modification time under `dir` of files ending in `ext`. */
function newest(dir: string, ext: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(ext)) latest = Math.max(latest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

const dist = path.join(ROOT, 'dist', 'cli', 'main.js');
const skip = requirement(
  'the built CLI (dist/)',
  !existsSync(dist) ? 'dist/ not built (npm run build)' : newest(path.join(ROOT, 'dist'), '.js') < newest(path.join(ROOT, 'src'), '.ts') ? 'dist/ is older than src/ (npm run build)' : undefined,
);

function mnist(root: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'mnist.js'), ...args], {
    cwd: root, encoding: 'utf8', timeout: 180_000, env: { ...process.env, MNIST_NATIVE_THREADS: '1', ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('bin/mnist.js over dist/: info, train, test and predict from the compiled code', { skip }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'mnist-built-'));
  const info = mnist(ROOT, ['info', '--json']);
  assert.equal(info.code, 0, info.stderr);
  const parsed = JSON.parse(info.stdout);
  assert.equal(parsed.backend, parsed.native.available ? 'native' : 'wasm');
  const modelDir = path.join(work, 'mlp');
  const train = mnist(ROOT, ['train', '--model-dir', modelDir, '--steps', '30', '--limit', '300', '--log-every', '10', '--no-progress']);
  assert.equal(train.code, 0, train.stderr);
  assert.match(train.stdout, /^After 30 training step\(s\), loss on training batch is /m);
  assert.match(train.stdout, /Trained to step 30 in .* validation accuracy \(raw weights\) = 0\.\d{4}/);
  const evaluated = mnist(ROOT, ['test', '--model-dir', modelDir, '--limit', '200', '--json']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const result = JSON.parse(evaluated.stdout);
  assert.equal(result.count, 200);
  assert.ok(result.accuracy > 0.5, `accuracy ${result.accuracy} after 30 steps`);
  const bad = mnist(ROOT, ['predict', '--model-dir', modelDir, path.join(work, 'missing.png')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^error: .*missing\.png/m);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

test('without the native addon, --backend auto falls back to wasm, says why, and trains on it', { skip }, () => {
  // A copy of the package as npm would install it, without native/build.
  const pkg = mkdtempSync(path.join(tmpdir(), 'mnist-noaddon-'));
  for (const part of ['bin', 'dist', 'proto', 'package.json']) cpSync(path.join(ROOT, part), path.join(pkg, part), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  const info = mnist(pkg, ['info', '--json']);
  assert.equal(info.code, 0, info.stderr);
  const parsed = JSON.parse(info.stdout);
  assert.equal(parsed.backend, 'wasm');
  assert.equal(parsed.native.available, false);
  assert.match(parsed.note, /^Using the wasm backend \(WebAssembly\): the native oneDNN backend is unavailable because .+ Training works, about 15x slower .* To get it: /);
  const text = mnist(pkg, ['info']);
  assert.match(text.stdout, /^backend: +wasm$/m);
  assert.match(text.stdout, /^native: +unavailable: /m);

  const train = mnist(pkg, ['train', '--model-dir', path.join(pkg, 'run'), '--steps', '5', '--limit', '100', '--no-progress']);
  assert.equal(train.code, 0, train.stderr);
  assert.match(train.stderr, /^Using the wasm backend \(WebAssembly\): the native oneDNN backend is unavailable because /m);
  assert.match(train.stderr, /\(backend wasm\)/);
  assert.match(train.stdout, /Trained to step 5 /);
  // Asking for native explicitly is an error, on one line.
  const native = mnist(pkg, ['info', '--backend', 'native']);
  assert.notEqual(native.code, 0);
  assert.equal(native.stderr.trim().split('\n').filter((l) => l.startsWith('error: ')).length, 1, native.stderr);
});
