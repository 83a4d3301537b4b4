// Child of test/backend/signals.test.ts: runs oneDNN matmuls and convolutions for a few seconds with a SIGUSR2
// handler installed while the parent sends it signals; prints "ok <calls> <signals>" on success.
import { createRequire } from 'node:module';
import { setImmediate, setTimeout } from 'node:timers';

const addon = createRequire(import.meta.url)(process.argv[2]);
addon.setThreads(Number(process.argv[3] ?? 1));
const seconds = Number(process.argv[4] ?? 3);
let signals = 0;
process.on('SIGUSR2', () => { signals++; });

const a = new Float32Array(100 * 784).fill(0.5), b = new Float32Array(784 * 500).fill(0.25);
const product = new Float32Array(100 * 500);
const image = new Float32Array(20 * 28 * 28 * 8).fill(1), filter = new Float32Array(5 * 5 * 8 * 16).fill(0.5);
const convOut = new Float32Array(20 * 28 * 28 * 16), filterGrad = new Float32Array(filter.length);
// batch, in h/w/channels, filter h/w, out channels, out h/w, strides, dilations, pads t/l/b/r
const geometry = [20, 28, 28, 8, 5, 5, 16, 28, 28, 1, 1, 1, 1, 2, 2, 2, 2];
process.stdout.write('ready\n');
const started = Date.now();
let calls = 0;
function burst() {
  for (let i = 0; i < 20; i++, calls++) {
    addon.matmul(a, b, product, 1, 1, 100, 500, 784, false, false, null, 0);
    if (product[4321] !== 98) throw new Error(`wrong product ${product[4321]}`);
    addon.conv2dBackpropFilter(image, convOut, filterGrad, ...geometry);
    // Garbage for the allocator: corrupted heap metadata shows up on the next malloc/free.
    new Float64Array(512 + (calls % 997)).fill(calls);
  }
  if (Date.now() - started < seconds * 1000) setImmediate(burst);
  else {
    process.stdout.write(`ok ${calls} ${signals}\n`);
    // Stay a moment so signals already on their way reach the handler, not a process in teardown.
    setTimeout(() => process.removeAllListeners('SIGUSR2'), 500).unref();
    setTimeout(() => {}, 400);
  }
}
burst();
