import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodePng, encodePng } from '../../src/image/ops.js';
import { parseOp } from '../../src/cli/commands/image.js';
import { Random } from '../../src/util/random.js';
import { UserError } from '../../src/errors.js';

const ROOT = path.join(import.meta.dirname, '../..');

test('op parser: arguments, methods and errors', () => {
  const x = tf.tensor3d([0, 0.25, 0.5, 0.75], [2, 2, 1]);
  const rng = new Random(1);
  assert.deepEqual(parseOp('resize=4x6:nearest')(x, rng).shape, [4, 6, 1]);
  assert.deepEqual(parseOp('resize=3x3:3')(x, rng).shape, [3, 3, 1]);
  assert.deepEqual(Array.from(parseOp('flip-lr')(x, rng).dataSync()), [0.25, 0, 0.75, 0.5]);
  assert.deepEqual(parseOp('pad=1,1,4x4')(x, rng).shape, [4, 4, 1]);
  assert.deepEqual(Array.from(parseOp('crop=1,0,1x2')(x, rng).dataSync()), [0.5, 0.75]);
  assert.throws(() => parseOp('resize=28'), (e: Error) => e instanceof UserError && e.message.includes('expected HxW'));
  assert.throws(() => parseOp('resize=2x2:lanczos'), /unknown resize method/);
  assert.throws(() => parseOp('brightness=abc'), /expected a number/);
  assert.throws(() => parseOp('twirl'), /image op "twirl": unknown operation/);
});

test('mnist image: resize + flip on a PNG, end to end', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'image-cli-'));
  const input = path.join(dir, 'in.png');
  writeFileSync(input, await encodePng(tf.tensor3d([10, 20, 30, 40], [2, 2, 1], 'int32')));
  const output = path.join(dir, 'out.png');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'image', 'resize=4x4:nearest', 'flip-lr', '-i', input, '-o', output], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /out\.png: 4x4x1 \(resize=4x4:nearest → flip-lr\)/);
  const out = await decodePng(new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(output))));
  assert.deepEqual(Array.from(out.dataSync()), [20, 20, 10, 10, 20, 20, 10, 10, 40, 40, 30, 30, 40, 40, 30, 30]);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'image', 'hue=0.2', '-i', input, '-o', path.join(dir, 'x.png')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.trim(), `error: ${input}: adjust hue needs an RGB image (3 channels), got 1`);
  assert.ok(!existsSync(path.join(dir, 'x.png')));
});
