import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADDON_PATH, PLATFORM_PACKAGE } from '../../src/backend/addon.js';
import { nativeOrSkip } from '../backend/parity-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = nativeOrSkip() || (existsSync(ADDON_PATH) ? false : 'no addon built from source to package');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string; license: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: object;
};

// npm as a user runs it: not as a child of `npm test` (its lifecycle variables), never online.
const { NODE_TEST_CONTEXT: _, ...parentEnv } = process.env;
const env = Object.fromEntries(Object.entries(parentEnv).filter(([k]) => !/^npm_(lifecycle|package)_/.test(k)));
env.npm_config_offline = 'true';

function run(cmd: string, args: string[], cwd: string, timeoutMs = 120_000, only?: 'stdout'): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr.slice(-2000)}`);
  return only ? r.stdout : r.stdout + r.stderr;
}

const integrity = (file: string) => `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;

/**
 * A consumer project depending on the two tarballs, with a lockfile made from ours (its production
 * part): `npm ci --offline` then installs every dependency from npm's cache by integrity, with no
 * registry lookup — `npm install --offline` of a tarball would need registry metadata too.
 */
function consumerProject(dir: string, mainTgz: string, platformTgz: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const deps = { 'mnist-ts': `file:${mainTgz}`, [PLATFORM_PACKAGE]: `file:${platformTgz}` };
  const packages: Record<string, object> = { '': { name: 'consumer', dependencies: deps } };
  for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && !entry.dev) packages[path] = entry;
  packages['node_modules/mnist-ts'] = {
    version: manifest.version, resolved: `file:${mainTgz}`, integrity: integrity(mainTgz), license: manifest.license,
    dependencies: manifest.dependencies, optionalDependencies: { [PLATFORM_PACKAGE]: manifest.version },
    bin: manifest.bin, engines: manifest.engines,
  };
  packages[`node_modules/${PLATFORM_PACKAGE}`] = {
    version: manifest.version, resolved: `file:${platformTgz}`, integrity: integrity(platformTgz),
    os: ['linux'], cpu: ['x64'], libc: ['glibc'],
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies: deps }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }));
}

describe('npm pack → install into a fresh project → npx mnist runs there on the prebuilt native addon', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mnist-package-'));
  const app = join(tmp, 'consumer');
  after(() => rmSync(tmp, { recursive: true, force: true }));

  before(() => {
    run(process.execPath, [join(ROOT, 'scripts', 'pack.mjs'), '--out', join(tmp, 'pack')], ROOT);
    mkdirSync(app);
    consumerProject(app, join(tmp, 'pack', `mnist-ts-${manifest.version}.tgz`),
      join(tmp, 'pack', `${PLATFORM_PACKAGE}-${manifest.version}.tgz`));
    run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
  });

  it('npx mnist info: the native backend, with oneDNN mapped from inside node_modules', () => {
    const info = JSON.parse(run('npx', ['mnist', 'info', '--json'], app, 60_000, 'stdout')) as {
      backend: string; native: { addon: string; onednnLibrary: string };
    };
    assert.equal(info.backend, 'native');
    const inside = join(app, 'node_modules', PLATFORM_PACKAGE);
    assert.equal(info.native.addon, join(inside, 'mnist_native.node'));
    assert.equal(info.native.onednnLibrary, join(inside, 'libdnnl.so.2'), 'not the system libdnnl (/proc/self/maps)');
  });

  it('npx mnist train --steps 50, then npx mnist test', () => {
    const train = run('npx', ['mnist', 'train', '--steps', '50', '--limit', '1000', '--no-progress'], app);
    assert.match(train, /Training mlp on 1000 images \(backend native\)/);
    assert.match(train, /Trained to step 50/);
    assert.match(run('npx', ['mnist', 'test', '--limit', '1000'], app), /accuracy/i);
  });

  it('npx mnist train --model book-cnn --backend wasm (gradient kernels wasm lacks are filled in)', () => {
    const train = run('npx', ['mnist', 'train', '--model', 'book-cnn', '--backend', 'wasm', '--steps', '5', '--limit', '500',
      '--batch-size', '10', '--model-dir', 'runs/cnn', '--no-progress'], app, 300_000);
    assert.match(train, /Trained to step 5/);
  });
});
