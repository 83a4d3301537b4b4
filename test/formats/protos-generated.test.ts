import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('src/formats/tf-protos.ts is generated from proto/*.proto as they are now', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-protos.mjs', '--check'], { cwd: new URL('../../', import.meta.url), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
