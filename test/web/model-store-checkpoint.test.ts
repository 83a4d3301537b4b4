import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Saver } from '../../src/checkpoint/saver.js';
import { UserError } from '../../src/errors.js';
import type { TensorValue } from '../../src/formats/tensor-value.js';
import { ModelStore } from '../../src/web/model-store.js';
import { HttpError } from '../../src/web/http.js';
import { corruptTensor } from '../checkpoint/helpers/damage.js';
import { tempDir } from '../checkpoint/helpers/tmp.js';

async function dirWith(steps: number[]): Promise<string> {
  const dir = tempDir('store-pin');
  const saver = new Saver();
  for (const step of steps) {
    const t = new Map<string, TensorValue>([
      ['w', { dtype: 'float32', shape: [8], data: new Float32Array(8).fill(step) }],
      ['global_step', { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(step)) }],
    ]);
    await saver.save(path.join(dir, 'model.ckpt'), t, { globalStep: step });
  }
  return dir;
}

test('serve --checkpoint N: requests that name no checkpoint use model.ckpt-N, not the newest', async () => {
  const dir = await dirWith([10, 20, 30]);
  const store = new ModelStore({ modelDir: dir, checkpoint: '20' });
  assert.equal(store.resolve().name, 'model.ckpt-20');
  assert.equal(store.resolve('model.ckpt-30').name, 'model.ckpt-30');
  assert.equal(new ModelStore({ modelDir: dir }).resolve().name, 'model.ckpt-30');
  assert.equal(new ModelStore({ modelDir: dir, checkpoint: path.join(dir, 'model.ckpt-10') }).resolve().name, 'model.ckpt-10');
});

test('serve --checkpoint that is missing, damaged or outside the model directory is refused at start in one line', async () => {
  const dir = await dirWith([10, 20]);
  const other = await dirWith([5]);
  const refused = (choice: string, pattern: RegExp) =>
    assert.throws(() => new ModelStore({ modelDir: dir, checkpoint: choice }), (e: unknown) => e instanceof UserError && !e.message.includes('\n') && pattern.test(e.message));
  refused('15', /no checkpoint at step 15 .*available steps in .*: 10, 20$/);
  refused(path.join(other, 'model.ckpt-5'), /not a checkpoint of/);
  corruptTensor(path.join(dir, 'model.ckpt-20'), 'w');
  refused('20', /model\.ckpt-20\.data-00000-of-00001: tensor "w": checksum mismatch.*--checkpoint 10$/);
});

test('a pinned checkpoint deleted later is a 404 naming it', async () => {
  const dir = await dirWith([10, 20]);
  const store = new ModelStore({ modelDir: dir, checkpoint: '10' });
  await new Saver({ maxToKeep: 1 }).save(path.join(dir, 'model.ckpt'), new Map(), { globalStep: 40 });
  assert.throws(() => store.resolve(), (e: unknown) => e instanceof HttpError && e.status === 404 && /--checkpoint \(model\.ckpt-10\) is no longer in/.test(e.message));
});

test('serve --checkpoint N: GET /api/checkpoints marks that checkpoint as the default the page shows in use', async () => {
  const { startServer } = await import('../../src/web/server.js');
  const dir = await dirWith([10, 20, 30]);
  for (const [checkpoint, expected] of [['20', 'model.ckpt-20'], [undefined, 'model.ckpt-30']] as const) {
    const server = await startServer({ modelDir: dir, port: 0, backend: 'cpu', checkpoint, log: () => {} });
    try {
      const body = (await (await fetch(new URL('/api/checkpoints?accuracy=0', server.url))).json()) as { pinned: string | null; checkpoints: Array<{ name: string; default: boolean }> };
      assert.deepEqual(body.checkpoints.filter((c) => c.default).map((c) => c.name), [expected]);
      assert.equal(body.pinned, checkpoint ? expected : null);
    } finally {
      await server.close();
    }
  }
});
