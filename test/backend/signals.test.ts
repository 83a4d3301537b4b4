import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from '../helpers/requirements.js';
import { ADDON_PATH } from '../../src/backend/addon.js';
import { nativeOrSkip } from './parity-helpers.js';

const skip = nativeOrSkip();
const CHILD = fileURLToPath(new URL('../helpers/kernels-under-signals.mjs', import.meta.url));

/**
 * Runs the child for `seconds`, sending it SIGUSR2 every few hundred microseconds once it is
 * ready. Without the addon's signal blocking, oneDNN 2.6's GEMM kernels (rsp pointed into the heap)
 * let the kernel write signal frames over heap memory and the child aborts in malloc.
 */
function runUnderSignals(threads: number, seconds: number): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, ADDON_PATH, String(threads), String(seconds)]);
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ok ')) clearInterval(timer);
      else if (!timer && out.includes('ready')) {
        timer = setInterval(() => {
          for (let i = 0; i < 20; i++) if (child.exitCode === null) child.kill('SIGUSR2');
        }, 2);
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal, out, err });
    });
  });
}

describe('native kernels and signals', { skip }, () => {
  for (const threads of [1, 2]) {
    it(`oneDNN kernels survive a flood of signals (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      const r = await runUnderSignals(threads, 2);
      assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.err.trim().split('\n').pop()}`);
      assert.equal(r.code, 0, r.err);
      const [, calls, signals] = r.out.trim().split('\n').pop()!.split(' ').map(Number);
      assert.ok(calls > 20, `only ${calls} kernel calls`);
      assert.ok(signals > 100, `only ${signals} signals handled`);
    });
  }
});
