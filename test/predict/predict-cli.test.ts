import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';

/** TensorFlow's frozen softmax regression: no training needed. */
const GRAPH = 'test/fixtures/pb_softmax_mnist/frozen_model.pb';
const cleanStderr = (s: string) => s.split('\n').filter((l) => l.trim() && !/^=+$|Hi, looks like|tfjs-node/.test(l));

test("the README's sample digits are read: one digit, and a number with each digit's confidence", () => {
  const r = runCli(['predict', '--graph', GRAPH, 'examples/digits/7.png', 'examples/digits/2024.png']);
  assert.equal(r.code, 0, r.stderr);
  const [seven, number] = r.stdout.trim().split('\n');
  assert.match(seven, /^examples\/digits\/7\.png: 7 {2}\(0:0\.\d{3} 1:0\.\d{3} .* 9:\d\.\d{3}\)$/);
  assert.match(number, /^examples\/digits\/2024\.png: 2024 {2}\(2 [01]\.\d{3}, 0 [01]\.\d{3}, 2 [01]\.\d{3}, 4 [01]\.\d{3}\)$/);

  const json = JSON.parse(runCli(['predict', '--graph', GRAPH, '--json', 'examples/digits/2024.png']).stdout);
  assert.equal(json.number, '2024');
  assert.equal(json.digit, 2, 'digit and probabilities stay those of the first digit');
  assert.equal(json.digits.length, 4);
  assert.deepEqual(json.probabilities, json.digits[0].probabilities);
  assert.ok(json.digits.every((d: { box: { x: number } }, k: number, all: Array<{ box: { x: number } }>) => k === 0 || d.box.x > all[k - 1].box.x));

  const single = JSON.parse(runCli(['predict', '--graph', GRAPH, '--json', '--single', 'examples/digits/2024.png']).stdout);
  assert.equal(single.digits.length, 1);
  assert.equal(single.number.length, 1);
});

test('one bad file in a batch: the good ones are still read, the bad one gets its one-line error, exit code 1', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-predict-'));
  try {
    const bad = path.join(dir, 'x.png');
    writeFileSync(bad, 'not an image');
    const r = runCli(['predict', '--graph', GRAPH, 'examples/digits/0.png', bad, path.join(dir, 'missing.png'), 'examples/digits/1.png']);
    assert.equal(r.code, 1);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^examples\/digits\/0\.png: \d {2}\(/);
    assert.match(lines[1], /^examples\/digits\/1\.png: \d {2}\(/);
    const errors = cleanStderr(r.stderr);
    assert.equal(errors.length, 2, r.stderr);
    assert.match(errors[0], /^error: .*x\.png: not a readable image/);
    assert.match(errors[1], /^error: .*missing\.png: no such file$/);

    const json = runCli(['predict', '--graph', GRAPH, '--json', bad, 'examples/digits/1.png']);
    assert.equal(json.code, 1);
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.match(rows[0].error, /x\.png: not a readable image/);
    assert.equal(rows[1].file, 'examples/digits/1.png');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
