#!/usr/bin/env node
// Builds the npm packages of mnist-ts into pack/ (or --out DIR):
//   mnist-ts-<version>.tgz                 the library and CLI (JavaScript, web page, C++ sources)
//   mnist-ts-linux-x64-gnu-<version>.tgz   the prebuilt native addon with oneDNN and OpenMP beside it
// The main package lists the platform package in optionalDependencies, with os/cpu/libc fields on
// the latter, so npm downloads the ~12 MB of native code on glibc Linux x64 only (see
// docs/packaging.md). Run on the build machine after `npm run build:native`; it refuses an addon
// that holds AVX-512 code or loads oneDNN from elsewhere than beside itself.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unguardedAvx512 } from './avx512-check.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outArg = process.argv.indexOf('--out');
const outDir = resolve(outArg > 0 ? process.argv[outArg + 1] : join(root, 'pack'));
const PLATFORM = 'mnist-ts-linux-x64-gnu';
const addon = join(root, 'native', 'build', 'Release', 'mnist_native.node');
// The shared libraries shipped beside the addon, by SONAME (the name the loader looks for), with
// the Debian copyright file that carries their licences.
const LIBS = [
  { soname: 'libdnnl.so.2', license: '/usr/share/doc/libdnnl2/copyright', as: 'LICENSE.oneDNN' },
  { soname: 'libgomp.so.1', license: '/usr/share/doc/libgomp1/copyright', as: 'LICENSE.libgomp' },
  { soname: 'libOpenCL.so.1', license: '/usr/share/doc/ocl-icd-libopencl1/copyright', as: 'LICENSE.ocl-icd' },
];

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  return r.stdout;
}

const npm = (args, cwd) => run('npm', [...args, '--ignore-scripts', '--loglevel=error'], { cwd });
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

if (process.platform !== 'linux' || process.arch !== 'x64') fail('the platform package is built on Linux x64');
if (!existsSync(addon)) fail('no addon: run npm run build:native first');
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) fail('no dist/: run npm run build first');
// Portable: our own code holds AVX-512 (zmm) instructions only behind a run-time CPU check; oneDNN
// picks its ISA at run time.
const unguarded = unguardedAvx512(run('objdump', ['-d', '--no-show-raw-insn', addon]));
if (unguarded.length > 0) {
  fail(`the addon holds AVX-512 instructions outside the checked kernels (${unguarded[0]}; built with -march=native?); rebuild with native/binding.gyp as committed`);
}

mkdirSync(outDir, { recursive: true });
const stage = mkdtempSync(join(tmpdir(), 'mnist-pack-'));
try {
  // The platform package: the stripped addon, and each library it needs copied under its SONAME as
  // a plain file (npm drops symlinks). The addon's rpath $ORIGIN (DT_RPATH, so it also serves
  // libdnnl's own dependencies) makes the loader look beside it first.
  const platformDir = join(stage, PLATFORM);
  mkdirSync(platformDir);
  const ldd = run('ldd', [addon]);
  copyFileSync(addon, join(platformDir, 'mnist_native.node'));
  run('strip', ['--strip-unneeded', join(platformDir, 'mnist_native.node')]);
  const files = ['mnist_native.node'];
  for (const lib of LIBS) {
    const from = ldd.match(new RegExp(`${lib.soname.replace(/\./g, '\\.')} => (\\S+)`))?.[1]
      ?? run('sh', ['-c', `ldconfig -p | awk '/${lib.soname} .*x86-64/ {print $NF; exit}'`]).trim();
    if (!from) fail(`${lib.soname} not found on this machine`);
    copyFileSync(realpathSync(from), join(platformDir, lib.soname));
    copyFileSync(lib.license, join(platformDir, lib.as));
    files.push(lib.soname, lib.as);
  }
  const platformManifest = {
    name: PLATFORM,
    version: manifest.version,
    description: `mnist-ts's native backend (oneDNN) prebuilt for glibc Linux x64 with AVX2; installed by mnist-ts`,
    license: 'MIT AND Apache-2.0 AND GPL-3.0-with-GCC-exception',
    os: ['linux'],
    cpu: ['x64'],
    libc: ['glibc'],
    files,
  };
  writeFileSync(join(platformDir, 'package.json'), `${JSON.stringify(platformManifest, null, 2)}\n`);
  writeFileSync(join(platformDir, 'README.md'),
    `# ${PLATFORM}\n\nThe prebuilt native backend of [mnist-ts](https://www.npmjs.com/package/mnist-ts): its Node-API addon with\n` +
    'oneDNN, libgomp and the OpenCL ICD loader beside it (see the LICENSE.* files). Installed by mnist-ts; not used on its own.\n');

  // Which libraries does the staged addon really load? The ones beside it, not the system's.
  const loaded = run(process.execPath, ['-e', `require(${JSON.stringify(join(platformDir, 'mnist_native.node'))});
    process.stdout.write(require('fs').readFileSync('/proc/self/maps', 'utf8'))`]);
  for (const lib of LIBS) {
    const at = loaded.split('\n').find((l) => l.endsWith(`/${lib.soname}`) || l.includes(`/${lib.soname} `));
    if (!at?.includes(platformDir)) fail(`the staged addon loads ${lib.soname} from ${at?.split(' ').pop() ?? 'nowhere'}, not beside itself`);
  }

  // The main package, as `npm pack` would make it, plus the optional dependency on the platform
  // package. It is added here, not in the repository's package.json, so a clone's `npm install`
  // never asks the registry for it.
  const mainDir = join(stage, 'mnist-ts');
  const listed = JSON.parse(npm(['pack', '--dry-run', '--json'], root))[0].files;
  for (const { path } of listed) {
    mkdirSync(dirname(join(mainDir, path)), { recursive: true });
    copyFileSync(join(root, path), join(mainDir, path));
  }
  const mainManifest = { ...manifest, optionalDependencies: { ...manifest.optionalDependencies, [PLATFORM]: manifest.version } };
  writeFileSync(join(mainDir, 'package.json'), `${JSON.stringify(mainManifest, null, 2)}\n`);

  for (const dir of [mainDir, platformDir]) {
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', outDir], dir));
    console.log(`${join(outDir, packed.filename)}: ${mib(statSync(join(outDir, packed.filename)).size)} packed, ${mib(packed.unpackedSize)} installed, ${packed.entryCount} files`);
  }
  for (const f of files) console.log(`  ${f}: ${mib(statSync(join(platformDir, f)).size)}`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
console.log(`install: npm install ${join(outDir, `mnist-ts-${manifest.version}.tgz`)} ${join(outDir, `${PLATFORM}-${manifest.version}.tgz`)}`);

