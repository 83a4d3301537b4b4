#!/usr/bin/env node
// Brings a clone up to date before `npm start` (--build) or `npm test`, doing only what is stale:
// - npm install, when node_modules does not hold what package-lock.json pins (compared by content:
//   npm's own record node_modules/.package-lock.json against the lockfile), or package.json names
//   dependencies the lockfile lacks;
// - the native addon, when it is missing or its C++ sources changed since it was built;
// - with --build, the TypeScript build (dist/, web/dist/), when a source is newer than the last
//   successful build (dist/.build-stamp, written only when `npm run build` succeeded).
// A second `npm start` therefore starts training at once instead of reinstalling and rebuilding.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const BUILD_STAMP = 'dist/.build-stamp';

function run(args) {
  const r = spawnSync(npm, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** Why node_modules is out of date with the lockfile, or '' when it is not. */
export function dependenciesStale(dir = root) {
  const installedFile = join(dir, 'node_modules', '.package-lock.json');
  if (!existsSync(installedFile)) return 'node_modules not installed';
  const lock = readJson(join(dir, 'package-lock.json')).packages ?? {};
  const installed = readJson(installedFile).packages ?? {};
  const manifest = readJson(join(dir, 'package.json'));
  const locked = { ...lock['']?.dependencies, ...lock['']?.devDependencies, ...lock['']?.optionalDependencies };
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (locked[name] !== range) return `package.json wants ${name}@${range}, package-lock.json has ${locked[name] ?? 'none'}`;
    }
  }
  for (const [path, entry] of Object.entries(lock)) {
    if (path === '' || entry.link) continue;
    // Optional packages for other platforms (esbuild's, sharp's) are locked but never installed.
    if (installed[path]?.version !== entry.version && !entry.optional) {
      return `${path.replace(/^node_modules\//, '')} ${installed[path]?.version ?? 'missing'}, lockfile ${entry.version}`;
    }
  }
  return '';
}

function files(dir, keep) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && keep(e.name))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

const newestMtime = (paths) => Math.max(0, ...paths.filter((p) => existsSync(p)).map((p) => statSync(p).mtimeMs));

function addonStale() {
  const addon = 'native/build/Release/mnist_native.node';
  if (!existsSync(addon)) return true;
  const sources = ['native/binding.gyp', 'scripts/build-native.mjs', ...files('native/src', () => true)];
  return newestMtime(sources) > statSync(addon).mtimeMs;
}

function buildStale() {
  if (!existsSync(BUILD_STAMP)) return true;
  const sources = [
    ...files('src', (n) => n.endsWith('.ts')), ...files('web/src', () => true),
    'web/index.html', 'web/favicon.svg', 'web/tsconfig.json', 'tsconfig.json', 'tsconfig.build.json',
    'scripts/build-web.mjs',
  ];
  return newestMtime(sources) > statSync(BUILD_STAMP).mtimeMs;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const done = [];
  const deps = dependenciesStale();
  if (deps) {
    console.log(`installing dependencies (${deps})`);
    run(['install', '--no-audit', '--no-fund']);
  } else done.push('dependencies');
  if (addonStale()) run(['run', 'build:native']);
  else done.push('native addon');
  if (process.argv.includes('--build')) {
    if (buildStale()) {
      rmSync('dist', { recursive: true, force: true }); // no output of a deleted or renamed source survives
      run(['run', 'build']);
      writeFileSync(BUILD_STAMP, `${new Date().toISOString()}\n`);
    } else done.push('build');
  }
  if (done.length > 0) console.log(`up to date: ${done.join(', ')}`);
}
