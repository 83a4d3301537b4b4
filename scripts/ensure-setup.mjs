// `npm test` on a fresh clone: install dependencies and build the native addon if that has not
// been done yet (by `npm start` or CI); otherwise do nothing, so repeated test runs stay fast.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
function run(args) {
  const r = spawnSync(npm, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync('node_modules/.package-lock.json')) run(['install', '--no-audit', '--no-fund']);
if (!existsSync('native/build/Release/mnist_native.node')) run(['run', 'build:native']);
