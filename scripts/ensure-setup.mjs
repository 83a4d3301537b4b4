// `npm test` on a fresh clone: install dependencies and build the native addon if that has not
// been done yet (by `npm start` or CI), or rebuild the addon when its C++ sources changed since it
// was built (a pull that adds a kernel); otherwise do nothing, so repeated test runs stay fast.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
function run(args) {
  const r = spawnSync(npm, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync('node_modules/.package-lock.json')) run(['install', '--no-audit', '--no-fund']);
const addon = 'native/build/Release/mnist_native.node';
const nativeSources = ['native/binding.gyp', ...readdirSync('native/src').map((f) => `native/src/${f}`)];
const stale = () => nativeSources.some((f) => statSync(f).mtimeMs > statSync(addon).mtimeMs);
if (!existsSync(addon) || stale()) run(['run', 'build:native']);
