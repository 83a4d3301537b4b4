import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic-write.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-atomic-'));

test('the folders on the way are created, as `mkdir -p` would', async () => {
  await writeFileAtomic(path.join(dir, 'a/b/out.pb'), 'x');
  writeFileAtomicSync(path.join(dir, 'c/d/out.png'), 'y');
  assert.equal(readFileSync(path.join(dir, 'a/b/out.pb'), 'utf8'), 'x');
  assert.equal(readFileSync(path.join(dir, 'c/d/out.png'), 'utf8'), 'y');
});

test('a failure names the file asked for, never the temporary file, and leaves nothing behind', async () => {
  writeFileSync(path.join(dir, 'plain'), 'a file, not a folder');
  const target = path.join(dir, 'plain/sub/out.pb');
  for (const write of [() => writeFileAtomic(target, 'x'), async () => writeFileAtomicSync(target, 'x')]) {
    await assert.rejects(write(), (e) => e instanceof UserError && e.message.startsWith(`${target}: `) && !e.message.includes('.tmp-'));
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.tmp-')), []);
});
