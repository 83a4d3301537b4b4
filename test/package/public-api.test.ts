import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, requirement, test } from '../helpers/requirements.js';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromiumPath, launchChromium } from '../web/browser.js';

/**
 * The package as a user gets it: `npm pack`, installed offline (from npm's cache) into a fresh
 * project, then used from plain JavaScript, from TypeScript against the shipped `.d.ts` files, and
 * — `mnist-ts/formats` bundled by esbuild for the browser — inside Chromium.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = path.join(ROOT, 'test/fixtures');
const SLOW = { timeout: 600_000 };
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

/** The compiled library must match the sources, or the test would pass on stale files. */
function ensureBuilt(): void {
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs)));
  let built = 0;
  try {
    built = statSync(path.join(ROOT, 'dist/index.d.ts')).mtimeMs;
  } catch {
    // not built
  }
  if (built < newest(path.join(ROOT, 'src'))) execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * A lockfile for a project that depends on the tarball alone: our own lockfile's production
 * packages, which `npm ci` (run before the tests) left in npm's cache, so the install needs no
 * network — a plain `npm install --offline` would still ask the registry for package metadata.
 */
function consumerLock(tarball: string, integrity: string): unknown {
  const ours = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const self = ours.packages[''] as { dependencies: Record<string, string>; bin: unknown; engines: unknown; version: string };
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { 'mnist-ts': tarball } },
    'node_modules/mnist-ts': { version: self.version, resolved: tarball, integrity, dependencies: self.dependencies, bin: self.bin, engines: self.engines },
  };
  for (const [key, entry] of Object.entries(ours.packages)) if (key.startsWith('node_modules/') && !entry.dev) packages[key] = entry;
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

const executable = chromiumPath();
const chromiumMissing = requirement('Chromium', executable ? undefined : 'not found, or no answer to --version in 20 s (apt-get install chromium, or set CHROMIUM_PATH)');

describe('the packed package, installed into a fresh project', () => {
  let work: string;
  let project: string;

  before(() => {
    ensureBuilt();
    work = mkdtempSync(path.join(os.tmpdir(), 'mnist-pack-'));
    const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)) as Array<{ filename: string; integrity: string }>;
    project = path.join(work, 'consumer');
    mkdirSync(project);
    const tarball = `file:../${packed.filename}`;
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { 'mnist-ts': tarball } }));
    writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(consumerLock(tarball, packed.integrity)));
    npm(['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], project);
  }, SLOW);

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('plain JavaScript ESM: read a TensorFlow checkpoint, train a few steps, reopen and evaluate', SLOW, () => {
    writeFileSync(
      path.join(project, 'use.mjs'),
      `import { train, openModel, selectBackend, modelNames, BOOK_DEFAULTS } from 'mnist-ts';
import { CheckpointReader } from 'mnist-ts/checkpoint';
import { CheckpointBytesReader, decodeTFRecords, decodeExample } from 'mnist-ts/formats';
import { readFileSync } from 'node:fs';
const ckpt = process.argv[2];
const reader = CheckpointReader.open(ckpt + '/model.ckpt');
const bytes = new CheckpointBytesReader({ index: readFileSync(ckpt + '/model.ckpt.index'), shards: [readFileSync(ckpt + '/model.ckpt.data-00000-of-00001')] });
const records = decodeTFRecords(readFileSync(process.argv[3]));
await selectBackend('cpu');
const run = await train({ modelDir: process.argv[4], model: 'softmax', steps: 20, limit: 300, checkpointEvery: 10, learningRate: 0.5 });
const model = openModel(process.argv[4]);
const evaluation = model.evaluate({ limit: 200 });
model.dispose();
console.log(JSON.stringify({
  v1: Array.from(reader.tensor('v1').data), v2: Array.from(bytes.tensor('v2').data),
  example: Number(decodeExample(records[1]).j.int64List[0]),
  models: modelNames().includes('mlp'), lr: BOOK_DEFAULTS.learningRate,
  step: run.globalStep, checkpoint: run.checkpoint.endsWith('model.ckpt-20'), accuracy: evaluation.accuracy, count: evaluation.count,
}));
`,
    );
    const modelDir = path.join(work, 'model');
    const r = spawnSync(process.execPath, ['use.mjs', path.join(FIXTURES, 'ckpt_v1_v2'), path.join(FIXTURES, 'tfrecord_ij_small/data.tfrecords-00000-of-00002'), modelDir], { cwd: project, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual({ v1: out.v1, v2: out.v2, example: out.example, models: out.models, lr: out.lr, step: out.step, checkpoint: out.checkpoint, count: out.count }, { v1: [1], v2: [2], example: 1, models: true, lr: 0.8, step: 20, checkpoint: true, count: 200 });
    assert.ok(out.accuracy > 0.5, `accuracy after 20 steps: ${out.accuracy}`);
    assert.ok(readdirSync(modelDir).includes('model.ckpt-20.index'));
  });

  test('TypeScript: the shipped types check a strict consumer (and catch a wrong call)', SLOW, () => {
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const tsconfig = {
      compilerOptions: { strict: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, typeRoots: [path.join(ROOT, 'node_modules/@types')], types: ['node'] },
      files: ['use.ts'],
    };
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    const good = `import { train, openModel, type TrainSummary, type OpenedModel } from 'mnist-ts';
import { CheckpointReader, Saver } from 'mnist-ts/checkpoint';
import { crc32c, encodeExample, int64Feature, type TensorValue } from 'mnist-ts/formats';
import { openGraph } from 'mnist-ts/graph';
export async function demo(dir: string): Promise<number> {
  const summary: TrainSummary = await train({ modelDir: dir, steps: 10, model: 'softmax' });
  const model: OpenedModel = openModel(dir);
  const t: TensorValue = CheckpointReader.open(dir).tensor('global_step');
  const saver = new Saver({ maxToKeep: 2 });
  void saver; void openGraph;
  return summary.validationAccuracy + model.globalStep + crc32c(encodeExample({ i: int64Feature(1) })) + t.shape.length;
}
`;
    writeFileSync(path.join(project, 'use.ts'), good);
    const ok = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: project, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    writeFileSync(path.join(project, 'use.ts'), good.replace("steps: 10, model: 'softmax'", "steps: 'ten'"));
    const bad = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: project, encoding: 'utf8' });
    assert.notEqual(bad.status, 0, 'a wrong option type must not type-check');
    assert.match(bad.stdout, /use\.ts.*Type 'string' is not assignable to type 'number'/);
  });

  test('mnist-ts/formats bundled for the browser reads a TensorFlow checkpoint and TFRecords in Chromium', { ...SLOW, skip: chromiumMissing }, async () => {
    writeFileSync(path.join(project, 'browser-entry.js'), "import * as formats from 'mnist-ts/formats';\nglobalThis.formats = formats;\n");
    const bundle = await build({ entryPoints: [path.join(project, 'browser-entry.js')], bundle: true, platform: 'browser', format: 'iife', write: false, absWorkingDir: project, logLevel: 'silent' });
    const code = bundle.outputFiles[0].text;
    assert.doesNotMatch(code, /require\(["']node:|from ["']node:/, 'no Node module in the browser bundle');
    const b64 = (file: string) => readFileSync(path.join(FIXTURES, file)).toString('base64');
    const browser = await launchChromium(executable!);
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.setContent('<!doctype html><title>formats</title>');
      await page.addScriptTag({ content: code });
      // A string, not a function: tsx's transform would put its own helpers into a function's source.
      const [index, data, records] = [b64('ckpt_v1_v2/model.ckpt.index'), b64('ckpt_v1_v2/model.ckpt.data-00000-of-00001'), b64('tfrecord_ij_small/data.tfrecords-00001-of-00002')];
      const result = (await page.evaluate(`(() => {
        const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
        const f = globalThis.formats;
        const reader = new f.CheckpointBytesReader({ index: bytes('${index}'), shards: [bytes('${data}')] }, 'model.ckpt');
        const decoded = f.decodeTFRecords(bytes('${records}')).map((r) => f.decodeExample(r));
        let damaged = '';
        const broken = bytes('${data}');
        broken[5] ^= 1;
        try {
          new f.CheckpointBytesReader({ index: bytes('${index}'), shards: [broken] }, 'model.ckpt').tensor('v2');
        } catch (e) {
          damaged = e.name + ': ' + e.message;
        }
        return {
          names: reader.names(),
          v1: Array.from(reader.tensor('v1').data),
          v2: Array.from(reader.tensor('v2').data),
          examples: decoded.map((e) => e.i.int64List[0] + ',' + e.j.int64List[0]),
          damaged,
          userAgent: navigator.userAgent,
        };
      })()`)) as { names: string[]; v1: number[]; v2: number[]; examples: string[]; damaged: string; userAgent: string };
      assert.deepEqual(errors, []);
      assert.match(result.userAgent, /Chrome/);
      assert.deepEqual(result.names, ['v1', 'v2']);
      assert.deepEqual([result.v1, result.v2], [[1], [2]]);
      assert.deepEqual(result.examples, ['1,0', '1,1']);
      assert.match(result.damaged, /^UserError: model\.ckpt\.data-00000-of-00001: tensor "v2": checksum mismatch/);
    } finally {
      await browser.close();
    }
  });
});
