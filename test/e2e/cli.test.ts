import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { bundledDataDir, loadMnist } from '../../src/data/mnist.js';
import { runCli, type CliResult } from '../helpers/cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'mnist-e2e-'));
const modelDir = path.join(work, 'mlp');

/** Exactly one line on stderr starting with `error:`, no stack trace, a non-zero exit code. */
function assertOneLineError(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n').filter((l) => !/^=+$|Hi, looks like|tfjs-node/.test(l) && l.trim());
  const errorLines = lines.filter((l) => l.startsWith('error: '));
  assert.equal(errorLines.length, 1, r.stderr);
  assert.match(errorLines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/**
 * The MLP every test below reads, trained once on first use (300 steps): each test asks for it, so
 * any one of them runs alone or in any order. Tests that train further copy it first.
 */
let training: CliResult | undefined;
function trained(): CliResult {
  training ??= runCli(['train', '--model-dir', modelDir, '--steps', '300', '--limit', '5000', '--checkpoint-every', '100', '--log-every', '100', '--no-progress'], { timeoutMs: 300_000 });
  assert.equal(training.code, 0, training.stderr);
  return training;
}

test('train a few hundred steps, with checkpoints, the book log lines and an event log', () => {
  const r = trained();
  assert.match(r.stdout, /^After 100 training step\(s\), loss on training batch is [\d.e+-]+\.$/m);
  assert.match(r.stdout, /^After 300 training step\(s\), loss on training batch is/m);
  // Validation is measured at each checkpoint: every milestone up to the final accuracy is reported once.
  const final = Number(/validation accuracy \(raw weights\) = ([\d.]+)/.exec(r.stdout)?.[1]);
  const reported = [...r.stdout.matchAll(/^Validation accuracy ≥ ([\d.]+) % \(([\d.]+) %\) after [\d.]+ s of training, step (100|200|300)\.$/gm)];
  assert.ok(final > 0.8, r.stdout);
  const targets = reported.map((m) => Number(m[1]));
  assert.deepEqual(targets, [...new Set(targets)].sort((x, y) => x - y), 'each once, in order');
  for (const m of reported) assert.ok(Number(m[2]) >= Number(m[1]), m[0]);
  for (const p of [90, 95, 97, 98, 98.5, 99, 99.5, 99.7].filter((p) => p / 100 <= final)) assert.ok(targets.includes(p), `${p} % not reported:\n${r.stdout}`);
  const files = readdirSync(modelDir);
  for (const f of ['checkpoint', 'model.ckpt-300.index', 'model.ckpt-300.data-00000-of-00001', 'model.ckpt-100.index', 'mnist-ts.json', 'events.jsonl']) {
    assert.ok(files.includes(f), `${f} missing in ${files.join(', ')}`);
  }
  assert.ok(!files.some((f) => f.startsWith('.tmp-')), 'no temporary files left');
  const state = readFileSync(path.join(modelDir, 'checkpoint'), 'utf8');
  assert.match(state, /^model_checkpoint_path: "model\.ckpt-300"$/m);
  const events = readFileSync(path.join(modelDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events[0].type, 'start');
  assert.equal(events.at(-1).type, 'end');
  assert.equal(events.filter((e) => e.type === 'checkpoint').length, 3);
});

test('inspect lists the variables, their EMA shadows and the global step', () => {
  trained();
  const r = runCli(['inspect', modelDir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const text = r.stdout;
  for (const name of ['layer1/weights', 'layer1/weights/ExponentialMovingAverage', 'layer2/biases', 'global_step']) assert.ok(text.includes(`"${name}"`), name);
});

test('eval --once restores the moving averages and prints the book line', () => {
  trained();
  const r = runCli(['eval', '--model-dir', modelDir, '--once']);
  assert.equal(r.code, 0, r.stderr);
  const m = /^After 300 training step\(s\), validation accuracy = ([\d.]+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  // Measured 0.9454 for this seeded run (5,000 images, 300 steps).
  assert.ok(Number(m[1]) > 0.93, `validation accuracy ${m[1]}`);
});

test('test reports accuracy, a confusion matrix and per-class precision/recall/F1; --json gives the same numbers', () => {
  trained();
  const text = runCli(['test', '--model-dir', modelDir, '--limit', '2000']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Test accuracy = 0\.\d{4} \(\d+\/2000\)/);
  assert.match(text.stdout, /true\\pred/);
  const json = JSON.parse(runCli(['test', '--model-dir', modelDir, '--limit', '2000', '--json']).stdout);
  assert.equal(json.count, 2000);
  assert.equal(json.ema, true);
  // Measured 0.9245 on these 2,000 test images.
  assert.ok(json.accuracy > 0.91, `accuracy ${json.accuracy}`);
  const matrixTotal = json.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0);
  assert.equal(matrixTotal, 2000);
  const diagonal = json.confusionMatrix.reduce((a: number, row: number[], i: number) => a + row[i], 0);
  assert.equal(diagonal, json.correct);
  // Per-class precision, recall and F1 beside the matrix, in text and JSON.
  assert.match(text.stdout, /^class +precision +recall +F1 +support$/m);
  assert.equal(json.classes.length, 10);
  assert.equal(json.classes.reduce((n: number, c: { support: number }) => n + c.support, 0), 2000);
  for (const c of json.classes) assert.equal(c.recall, json.confusionMatrix[c.digit][c.digit] / c.support);
});

test('predict reads PNGs of test digits (any size, dark on light too) and names the digit', async () => {
  trained();
  const { test: testSplit } = loadMnist({ limit: 10 });
  const files: string[] = [];
  for (const i of [0, 1, 2]) {
    const pixels = Buffer.from(testSplit.images.subarray(i * 784, (i + 1) * 784));
    const file = path.join(work, `digit-${i}.png`);
    // Upscaled 5×, and drawn dark on a light background for the second one.
    const raw = i === 1 ? Buffer.from(pixels.map((p) => 255 - p)) : pixels;
    await sharp(raw, { raw: { width: 28, height: 28, channels: 1 } }).resize(140, 140).png().toFile(file);
    files.push(file);
  }
  const r = runCli(['predict', '--model-dir', modelDir, '--json', ...files]);
  assert.equal(r.code, 0, r.stderr);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(results.map((x) => x.digit), [testSplit.labels[0], testSplit.labels[1], testSplit.labels[2]]);
  for (const x of results) {
    assert.equal(x.probabilities.length, 10);
    assert.ok(Math.abs(x.probabilities.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-4);
  }
});

test('training resumes from the newest checkpoint', () => {
  trained();
  const dir = path.join(work, 'resumed');
  cpSync(modelDir, dir, { recursive: true });
  const r = runCli(['train', '--model-dir', dir, '--steps', '320', '--limit', '5000', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /Resuming from model\.ckpt-300 at step 300/);
  assert.ok(existsSync(path.join(dir, 'model.ckpt-320.index')));
});

test('--fresh deletes the earlier run\'s checkpoints; another model without it is refused; nothing left to train is said', () => {
  trained();
  const dir = path.join(work, 'fresh');
  cpSync(modelDir, dir, { recursive: true });
  const common = ['--model-dir', dir, '--limit', '2000', '--no-progress'];
  let r = runCli(['train', '--model', 'softmax', '--steps', '10', ...common]);
  assertOneLineError(r, /holds a "mlp" model, not "softmax".*--fresh/);
  assert.doesNotMatch(r.stderr, /Training softmax/);
  r = runCli(['train', '--steps', '100', ...common]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Nothing to train: already at step 300/);
  r = runCli(['train', '--fresh', '--model', 'softmax', '--steps', '10', ...common]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Starting afresh: deleted the earlier run's checkpoints/);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('model.ckpt-')).sort(), ['model.ckpt-10.data-00000-of-00001', 'model.ckpt-10.index', 'model.ckpt-10.meta']);
  assert.equal(readFileSync(path.join(dir, 'checkpoint'), 'utf8'), 'model_checkpoint_path: "model.ckpt-10"\nall_model_checkpoint_paths: "model.ckpt-10"\n');
});

test('a resumed run keeps its recorded model and recipe; flags given again override it', () => {
  const dir = path.join(work, 'softmax-momentum');
  const common = ['--model-dir', dir, '--limit', '2000', '--no-progress', '--log-every', '10'];
  let r = runCli(['train', '--model', 'softmax', '--optimizer', 'momentum', '--momentum', '0.5', '--learning-rate', '0.05', '--decay-rate', '1', '--augment', 'affine', '--steps', '20', ...common]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(readFileSync(path.join(dir, 'mnist-ts.json'), 'utf8'));
  assert.equal(info.model, 'softmax');
  assert.deepEqual(
    { optimizer: info.recipe.optimizer, momentum: info.recipe.momentum, learningRate: info.recipe.learningRate, decayRate: info.recipe.decayRate, steps: info.recipe.steps, augment: info.recipe.augment },
    { optimizer: 'momentum', momentum: 0.5, learningRate: 0.05, decayRate: 1, steps: 20, augment: 'affine' },
  );
  // No --model, no recipe flags: the directory's softmax model goes on with momentum 0.5 at 0.05.
  r = runCli(['train', '--steps', '30', ...common]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Resuming with the recorded recipe: momentum 0\.5, learning rate 0\.05 no decay, batch 100, .* to step 30, seed 1, augment affine/);
  assert.match(r.stderr, /Training softmax /);
  const events = readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const steps = events.filter((e) => e.type === 'step' && e.step > 20);
  assert.ok(steps.length > 0 && steps.every((e) => Math.abs(e.learningRate - 0.05) < 1e-9), 'the recorded learning rate, undecayed');
  // A flag given again wins, and --no-augment switches the distortions off.
  r = runCli(['train', '--steps', '40', '--learning-rate', '0.01', '--no-augment', ...common]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /learning rate 0\.01 no decay.* to step 40, seed 1$/m);
  assert.equal(JSON.parse(readFileSync(path.join(dir, 'mnist-ts.json'), 'utf8')).recipe.augment, undefined);
  // A directory from before recipes were recorded: its optimizer is kept, and the message says what is not.
  const { recipe: _dropped, ...legacy } = JSON.parse(readFileSync(path.join(dir, 'mnist-ts.json'), 'utf8'));
  writeFileSync(path.join(dir, 'mnist-ts.json'), JSON.stringify(legacy));
  r = runCli(['train', '--steps', '45', ...common]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Resuming with: momentum 0\.9, learning rate 0\.5 no decay.* records only the optimizer, L2 and EMA/);
});

test('bad input gives one-line errors naming the file, and no output', async () => {
  trained();
  const badData = path.join(work, 'bad-data');
  const source = bundledDataDir();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(badData);
  for (const f of ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) copyFileSync(path.join(source, f), path.join(badData, f));
  writeFileSync(path.join(badData, 'train-images-idx3-ubyte'), readFileSync(path.join(source, 'train-images-idx3-ubyte')).subarray(0, 100000));
  const badDir = path.join(work, 'never-written');
  assertOneLineError(runCli(['train', '--data-dir', badData, '--model-dir', badDir, '--steps', '1', '--no-progress']), /train-images-idx3-ubyte: truncated/);
  assert.ok(!existsSync(badDir), 'no model directory created on bad data');

  assertOneLineError(runCli(['test', '--model-dir', path.join(work, 'missing')]), /missing: no such model directory/);
  const empty = mkdtempSync(path.join(work, 'empty-'));
  assertOneLineError(runCli(['eval', '--model-dir', empty, '--once']), /no checkpoint/);
  const notImage = path.join(work, 'notes.png');
  writeFileSync(notImage, 'this is not a PNG');
  assertOneLineError(runCli(['predict', '--model-dir', modelDir, notImage]), /notes\.png: not a readable image/);
  assertOneLineError(runCli(['predict', '--model-dir', modelDir, path.join(work, 'nope.png')]), /nope\.png: no such file/);
  assertOneLineError(runCli(['train', '--model', 'nope', '--model-dir', badDir]), /unknown model "nope"/);
  assertOneLineError(runCli(['train', '--beta1', '1', '--model-dir', badDir]), /--beta1.*expected a number in \[0, 1\), got "1"/);
  assertOneLineError(runCli(['train', '--schedule', 'cosine', '--model-dir', badDir]), /--schedule.*cosine/);
});

test('training from sharded TFRecord files (mnist tfrecord write → train --tfrecords) learns as from IDX', () => {
  const records = path.join(work, 'records');
  const w = runCli(['tfrecord', 'write', '--split', 'train', '--limit', '5000', '--shards', '2', '-o', records, '--no-progress']);
  assert.equal(w.code, 0, w.stderr);
  assert.deepEqual(readdirSync(records).sort(), ['data.tfrecords-00000-of-00002', 'data.tfrecords-00001-of-00002']);
  const dir = path.join(work, 'from-records');
  const t = runCli(['train', '--tfrecords', path.join(records, 'data.tfrecords-*'), '--model-dir', dir, '--steps', '200', '--no-progress'], { timeoutMs: 300_000 });
  assert.equal(t.code, 0, t.stderr);
  const json = JSON.parse(runCli(['test', '--model-dir', dir, '--limit', '2000', '--json']).stdout);
  assert.ok(json.accuracy > 0.85, `accuracy ${json.accuracy}`);
});
