import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { run as graphBasics } from '../../examples/graph-basics.js';
import { run as forwardPropagation, W1_SEED1, W2_SEED1 } from '../../examples/forward-propagation.js';
import { run as variableScopes } from '../../examples/variable-scopes.js';
import { run as regularization } from '../../examples/regularization.js';
import { run as movingAverage } from '../../examples/moving-average.js';
import { run as saveRestore } from '../../examples/save-restore.js';
import { numpyArray } from '../../examples/lib/numpy-print.js';

before(async () => {
  await tf.setBackend('cpu');
});

async function output(run: (print: (line: string) => void) => unknown): Promise<string[]> {
  const lines: string[] = [];
  await run((line) => lines.push(...line.split('\n')));
  return lines;
}

describe("the book's small programs print the book's output", () => {
  it('graph basics (§3.1–3.3): [0.] [1.], add → [3 5], 1 + 2 → 3', async () => {
    assert.deepEqual(await output(graphBasics), ['[0.]', '[1.]', 'Tensor shape=(2,) dtype=int32 value=[3 5]', '3']);
  });

  it('forward propagation (§3.4): 0.116 (float32), the seeded network 3.957578', async () => {
    const lines = await output(forwardPropagation);
    // The book prints [[0.11600002]]: TensorFlow rounds every multiply-add to float32, the tfjs cpu
    // matMul sums in float64 and rounds once (0.116000004). The two differ by 2 float32 ulps.
    const first = Number(/^\[\[(.*)\]\]$/.exec(lines[0])![1]);
    assert.ok(Math.abs(Math.fround(first) - Math.fround(0.11600002)) <= 2 * 2 ** -27, lines[0]);
    assert.notEqual(Math.fround(first), Math.fround(0.116)); // float32 rounding shows, as in the book
    assert.equal(lines[1], '[[3.957578]]');
    // Three samples at once: each row is x·W1·W2 (checked here in float64).
    const X = [[0.7, 0.9], [0.1, 0.4], [0.5, 0.8]];
    const rows = lines.slice(2).map((l) => Number(l.replace(/[[\] ]/g, '')));
    X.forEach(([a, b], r) => {
      const hidden = [0, 1, 2].map((j) => a * W1_SEED1[0][j] + b * W1_SEED1[1][j]);
      const y = hidden.reduce((s, h, j) => s + h * W2_SEED1[j][0], 0);
      assert.ok(Math.abs(rows[r] - y) < 1e-6, `row ${r}: ${rows[r]} vs ${y}`);
    });
    assert.equal(lines[2], '[[3.957578 ]');
  });

  it('variable scopes (§5.3): errors, reuse inheritance False/True/True, nested names', async () => {
    const lines = await output(variableScopes);
    assert.match(lines[0], /^ValueError: Variable foo\/v already exists, disallowed/);
    assert.deepEqual(lines.slice(1), ['True', 'False', 'True', 'True', 'w:0', 'space1/w:0', 'space1/space2/w:0', 'True']);
  });

  it('regularisation (§4.3): l1(.5) = 5.0, l2(.5) = 7.5, add_n over the losses collection', async () => {
    const lines = await output(regularization);
    assert.deepEqual(lines.slice(0, 3), ['5.0', '7.5', 'losses collection: 5 terms (4 L2 penalties + the MSE)']);
    const [total, terms] = /^add_n\(losses\) = (\S+) = (.*)$/.exec(lines[3])!.slice(1);
    const sum = terms.split(' + ').reduce((s, t) => s + Number(t), 0);
    assert.ok(Math.abs(Number(total) - sum) < 1e-6 * Math.max(1, sum));
  });

  it('moving average (§4.3): [0.0, 0.0] [5.0, 4.5] [100.0, 5.454999] [100.0, 6.400448]', async () => {
    assert.deepEqual(await output(movingAverage), ['[0.0, 0.0]', '[5.0, 4.5]', '[100.0, 5.454999]', '[100.0, 6.400448]']);
  });

  it('save / restore / rename / EMA shadows / checkpoint reader (§5.4)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'save-restore-test-'));
    try {
      assert.deepEqual(await output((print) => saveRestore(print, dir)), [
        'checkpoint model.ckpt.data-00000-of-00001 model.ckpt.index',
        '[3.]',
        '[11.]',
        '[3.]',
        "<tf.Variable 'v:0' shape=() dtype=float32_ref>",
        "<tf.Variable 'v/ExponentialMovingAverage:0' shape=() dtype=float32_ref>",
        '[10.0, 0.099999905]',
        '0.099999905',
        '0.099999905',
        'v1 [1]',
        'v2 [1]',
        '[1.]',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints arrays the way NumPy does', () => {
    assert.equal(numpyArray([0], [1]), '[0.]');
    assert.equal(numpyArray([2.2322333, 0.90483624, 1.9336841], [3, 1]), '[[2.2322333 ]\n [0.90483624]\n [1.9336841 ]]');
    assert.equal(numpyArray([-4.211412, 1.3347764, -1.2104415, 0.18525712, -3.060251, -0.73507816], [2, 3]), '[[-4.211412    1.3347764  -1.2104415 ]\n [ 0.18525712 -3.060251   -0.73507816]]');
  });
});
