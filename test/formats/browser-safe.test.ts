import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

test('mnist-ts/formats bundles for the browser: no Node module, no tensor library', async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../src/formats/index.ts', import.meta.url))],
    bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.deepEqual(inputs.filter((f) => /^node:|@tensorflow|(^|\/)(fs|zlib|path)$/.test(f)), []);
  assert.deepEqual(inputs.filter((f) => f.startsWith('src/') && !f.startsWith('src/formats/') && f !== 'src/errors.ts'), []);
});
