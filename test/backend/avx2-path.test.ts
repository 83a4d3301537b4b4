import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../../src/backend/addon.js';
import { runCli } from '../helpers/cli.js';
import { nativeOrSkip } from './parity-helpers.js';

const skip = nativeOrSkip();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const hasAvx512 = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

function isaOf(env: Record<string, string>): { isa: string; compiledFor: string } {
  const r = runCli(['info', '--json', '--backend', 'native'], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).native;
}

describe('the native addon runs on any x86-64 with AVX2: its AVX2 path, with AVX-512 masked off', { skip }, () => {
  it('our kernels are compiled for the AVX2+FMA baseline: AVX-512 only in the kernels chosen after a CPU check', async () => {
    const path = loadAddon().path!;
    const dis = spawnSync('objdump', ['-d', '--no-show-raw-insn', path], { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (dis.status !== 0) return; // no binutils here; the pack script checks this too
    const checker = '../../scripts/avx512-check.mjs';
    const { unguardedAvx512 } = (await import(checker)) as { unguardedAvx512(disassembly: string): string[] };
    assert.deepEqual(unguardedAvx512(dis.stdout), []);
    assert.deepEqual(unguardedAvx512('0000 <f>:\n  vaddps %zmm1,%zmm2,%zmm3\n'), ['f'], 'the check finds AVX-512 code');
    assert.match(dis.stdout, /%ymm\d/, 'AVX2 code is there');
  });

  it('MNIST_CPU_ISA=avx2 caps oneDNN at AVX2 (DNNL_MAX_CPU_ISA)', () => {
    const capped = isaOf({ MNIST_CPU_ISA: 'avx2' });
    assert.deepEqual(capped, { ...capped, isa: 'avx2', compiledFor: 'avx2' });
    if (hasAvx512) assert.match(isaOf({}).isa, /^avx512/, 'without the cap this CPU uses AVX-512');
  });

  it('with AVX-512 masked off, the native kernels still match the cpu backend (parity tests rerun)', () => {
    const files = ['test/backend/matmul.test.ts', 'test/backend/conv-pool.test.ts', 'test/backend/optimizers.test.ts'];
    // Without NODE_TEST_CONTEXT the child runner reports as a top-level run, in text.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...files], {
      cwd: ROOT, encoding: 'utf8', timeout: 180_000, env: { ...env, MNIST_CPU_ISA: 'avx2' },
    });
    assert.equal(r.status, 0, r.stdout.split('\n').filter((l) => /not ok|error/i.test(l)).slice(0, 5).join('\n'));
    assert.match(r.stdout, /# fail 0/);
  });
});
