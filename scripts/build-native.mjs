#!/usr/bin/env node
// Builds the oneDNN addon (native/) for this machine. Never fails the install: when the addon
// cannot be built it prints one line saying why, and mnist-ts falls back to the wasm backend.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const addonPath = join(nativeDir, 'build', 'Release', 'mnist_native.node');
const DNNL_HEADER = '/usr/include/oneapi/dnnl/dnnl.hpp';
const PACKAGES = ['libdnnl-dev', 'libopenblas0-pthread'];

function unavailable(reason) {
  console.log(`native backend unavailable: ${reason} (mnist-ts will use the wasm backend)`);
  process.exit(0);
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
}

function lastErrorLine(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.reverse().find((l) => /error/i.test(l) && !/^gyp (ERR|info)/.test(l)) ?? lines[0] ?? 'unknown error';
}

const hasCommand = (cmd) => run('sh', ['-c', `command -v ${cmd}`]).status === 0;

// oneDNN, plus the compiler tool chain node-gyp needs (g++, make, python3) when it is missing.
function ensureBuildDeps() {
  const missing = [];
  if (!existsSync(DNNL_HEADER)) missing.push(...PACKAGES);
  for (const [cmd, pkg] of [['g++', 'g++'], ['make', 'make'], ['python3', 'python3']]) {
    if (!hasCommand(cmd)) missing.push(pkg);
  }
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const isDebian = existsSync('/etc/debian_version');
  const command = `apt-get install -y ${missing.join(' ')}`;
  if (!isRoot || !isDebian) unavailable(`missing ${missing.join(', ')}; run: sudo ${command}`);
  console.log(`installing build dependencies: ${command}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let res = run('apt-get', ['install', '-y', ...missing], { env });
  if (res.status !== 0) {
    run('apt-get', ['update'], { env });
    res = run('apt-get', ['install', '-y', ...missing], { env });
  }
  if (res.status !== 0 || !existsSync(DNNL_HEADER)) {
    unavailable(`could not install ${missing.join(', ')} (${lastErrorLine(`${res.stderr}\n${res.stdout}`)})`);
  }
}

// Node's own headers come with Node (include/node next to bin/node); never download them.
function findNodeDir() {
  const candidates = [dirname(dirname(process.execPath)), '/usr', '/usr/local'];
  return candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
}

function findNodeGyp() {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp',
      'bin', 'node-gyp.js');
    return existsSync(bundled) ? bundled : undefined;
  }
}

if (process.platform !== 'linux' || process.arch !== 'x64') unavailable(`not supported on ${process.platform}-${process.arch}`);
ensureBuildDeps();
const nodeDir = findNodeDir();
if (!nodeDir) unavailable('Node.js headers (include/node/node_api.h) not found next to node');
const nodeGyp = findNodeGyp();
if (!nodeGyp) unavailable('node-gyp not found (run npm install)');

const jobs = String(Math.max(1, Math.min(4, Number(readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 1))));
const build = run(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--jobs', jobs], { cwd: nativeDir });
if (build.status !== 0) unavailable(`build failed: ${lastErrorLine(`${build.stderr}\n${build.stdout}`)}`);

const check = run(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(addonPath)}).info()))`]);
if (check.status !== 0) unavailable(`built addon does not load: ${lastErrorLine(check.stderr)}`);
const info = JSON.parse(check.stdout);
console.log(`native backend built: oneDNN ${info.onednn}, ${info.isa}, ${info.threads} threads`);
