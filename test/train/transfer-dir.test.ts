import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { resolveRecipe } from '../../src/train/recipe.js';
import { requireModelDir } from '../../src/train/model-dir.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-transfer-dir-'));
writeFileSync(path.join(dir, 'transfer.json'), JSON.stringify({ kind: 'transfer', graph: 'graph.pb', input: 'x', bottleneck: 'b', bottleneckSize: 2, classes: ['a', 'b'] }));
writeFileSync(path.join(dir, 'checkpoint'), 'model_checkpoint_path: "model.ckpt-10"\n');
const transferMessage = /a transfer-learning model .* predict with `mnist predict --model-dir .*`, retrain with `mnist transfer`$/;

test('a transfer model directory is named as such by every command that wants an MNIST model', () => {
  assert.throws(() => requireModelDir(dir), (e) => e instanceof UserError && transferMessage.test(e.message));
  assert.throws(() => resolveRecipe({ modelDir: dir }), (e) => e instanceof UserError && transferMessage.test(e.message));
  for (const args of [['test', '--model-dir', dir], ['freeze', '--model-dir', dir, '-o', path.join(dir, 'x.pb')], ['train', '--model-dir', dir, '--steps', '1']]) {
    const r = runCli(args);
    assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('error: '));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], transferMessage);
  }
});
