import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadMnist } from '../../src/data/mnist.js';
import { corruptTensor } from '../checkpoint/helpers/damage.js';
import { runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'mnist-e2e-ckpt-'));
const modelDir = path.join(work, 'mlp');
const steps = (dir: string) => readdirSync(dir).flatMap((f) => /^model\.ckpt-(\d+)\.index$/.exec(f)?.[1] ?? []).map(Number).sort((a, b) => a - b);

function assertOneLineError(r: { code: number; stderr: string }, ...patterns: RegExp[]): void {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(lines.length, 1, r.stderr);
  for (const p of patterns) assert.match(lines[0], p);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('--keep-best keeps the best checkpoint besides the newest five and lists it; --patience stops and says so', () => {
  // A learning rate too small to change the weights: validation accuracy never improves after the first checkpoint.
  const r = runCli(['train', '--model-dir', modelDir, '--steps', '1000', '--limit', '1000', '--checkpoint-every', '20', '--learning-rate', '1e-9', '--decay-rate', '1', '--log-every', '1000', '--no-progress', '--keep-best', '--patience', '7'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^After 20 training step\(s\), validation accuracy = 0\.\d{4} \(best so far\)$/m);
  assert.match(r.stdout, /^Stopping early: validation accuracy has not improved for 7 evaluations \(best 0\.\d{4} at step 20, model\.ckpt-20\)\.$/m);
  assert.match(r.stdout, /Trained to step 160 /);
  assert.deepEqual(steps(modelDir), [20, 80, 100, 120, 140, 160]);
  assert.equal(
    readFileSync(path.join(modelDir, 'checkpoint'), 'utf8'),
    'model_checkpoint_path: "model.ckpt-160"\n' + [20, 80, 100, 120, 140, 160].map((s) => `all_model_checkpoint_paths: "model.ckpt-${s}"\n`).join(''),
  );
  assert.equal(JSON.parse(readFileSync(path.join(modelDir, 'best-checkpoint.json'), 'utf8')).checkpoint, 'model.ckpt-20');

  // Resumed with --keep-best, the recorded best is still the one to beat and still kept.
  const again = runCli(['train', '--model-dir', modelDir, '--steps', '200', '--limit', '1000', '--no-progress', '--keep-best'], { timeoutMs: 300_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Best so far: model\.ckpt-20, validation accuracy 0\.\d{4}\./);
  assert.deepEqual(steps(modelDir), [20, 100, 120, 140, 160, 200]);
});

test('--checkpoint N picks a checkpoint for test, eval and predict; a missing one lists the steps', async () => {
  const json = runCli(['test', '--model-dir', modelDir, '--checkpoint', '100', '--limit', '500', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.globalStep, 100);
  assert.equal(path.basename(parsed.checkpoint), 'model.ckpt-100');
  const ev = runCli(['eval', '--model-dir', modelDir, '--checkpoint', '120', '--limit', '500']);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /^After 120 training step\(s\), validation accuracy = /m);

  const { test: split } = loadMnist({ limit: 1 });
  const png = path.join(work, 'digit.png');
  await sharp(Buffer.from(split.images.subarray(0, 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(png);
  const pr = runCli(['predict', '--model-dir', modelDir, '--checkpoint', path.join(modelDir, 'model.ckpt-140'), png]);
  assert.equal(pr.code, 0, pr.stderr);
  assert.match(pr.stdout, /digit\.png: \d/);

  assertOneLineError(runCli(['test', '--model-dir', modelDir, '--checkpoint', '50']), /no checkpoint at step 50 .*available steps in .*: 20, 100, 120, 140, 160, 200$/);
  assertOneLineError(runCli(['serve', '--model-dir', modelDir, '--checkpoint', '50', '--port', '0']), /no checkpoint at step 50/);
});

test('corrupt raw weights in the newest checkpoint: each command names the file and tensor and the newest intact checkpoint', () => {
  const newest = path.join(modelDir, 'model.ckpt-200');
  // The raw weights, which test/predict/eval do not even read (they restore the moving averages).
  const file = corruptTensor(newest, 'layer1/weights');
  const damaged = new RegExp(`${path.basename(file).replace(/\./g, '\\.')}: tensor "layer1/weights": checksum mismatch`);
  const advice = /the newest intact checkpoint is model\.ckpt-160: use it with --checkpoint 160$/;
  assertOneLineError(runCli(['test', '--model-dir', modelDir, '--limit', '100']), damaged, advice);
  assertOneLineError(runCli(['eval', '--model-dir', modelDir, '--once', '--limit', '100']), damaged, advice);
  assertOneLineError(runCli(['predict', '--model-dir', modelDir, path.join(work, 'digit.png')]), damaged, advice);
  assertOneLineError(runCli(['freeze', '--model-dir', modelDir, '-o', path.join(work, 'frozen.pb')]), damaged, advice);
  assert.ok(!existsSync(path.join(work, 'frozen.pb')));
  const ok = runCli(['test', '--model-dir', modelDir, '--checkpoint', '160', '--limit', '100', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).globalStep, 160);
});
