/**
 * Memory and latency of `mnist serve` under a flood of big image uploads: 64 concurrent
 * 4096×4096 PNG uploads (half RGBA ink on transparency, half grey) while small predictions
 * (a 112×112 PNG and a 784-number JSON body, one after the other) keep being sent.
 * Reports the server's peak RSS (VmHWM of the child process running `mnist serve`), how the big
 * uploads were answered, and p50/p99 latency of the small predictions during the flood.
 *
 *   node --import tsx bench/serve-images.ts [uploads=64] [rounds=2]
 *
 * The server runs in a child process (the real CLI, cpu backend) over a softmax model trained
 * for one step into a temp folder: the weights don't matter here.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { selectBackend } from '../src/backend/select.js';
import { IMAGE_PIXELS, IMAGE_SIZE, loadMnist } from '../src/data/mnist.js';
import { BOOK_DEFAULTS } from '../src/train/config.js';
import { train } from '../src/train/train.js';

const uploads = Number(process.argv[2] ?? 64);
const rounds = Number(process.argv[3] ?? 2);
const BIG = 4096;

await selectBackend('cpu');
const data = loadMnist({ limit: 500 });
const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-bench-images-'));
await train({ ...BOOK_DEFAULTS, model: 'softmax', modelDir: dir, steps: 1, logEvery: 1e9 }, data.train, { start() {}, step() {}, log() {}, stop() {} });

const raw = Buffer.from(data.test.images.subarray(0, IMAGE_PIXELS));
const inkMask = await sharp(raw, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } }).resize(3000, 3000, { kernel: 'nearest' }).raw().toBuffer();
/** Black ink whose shape is only in the alpha channel, on a fully transparent 4096² canvas. */
const rgbaBig = await sharp({ create: { width: BIG, height: BIG, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
  .composite([{ input: await sharp(Buffer.alloc(3000 * 3000 * 3), { raw: { width: 3000, height: 3000, channels: 3 } }).joinChannel(inkMask, { raw: { width: 3000, height: 3000, channels: 1 } }).png().toBuffer(), left: 500, top: 500 }])
  .png({ compressionLevel: 9 })
  .toBuffer();
/** Dark ink on white, one grey channel. */
const greyBig = await sharp({ create: { width: BIG, height: BIG, channels: 3, background: '#ffffff' } })
  .composite([{ input: await sharp(Buffer.from(inkMask.map((v) => 255 - v)), { raw: { width: 3000, height: 3000, channels: 1 } }).png().toBuffer(), left: 500, top: 500 }])
  .greyscale()
  .toColourspace('b-w')
  .png({ compressionLevel: 9 })
  .toBuffer();
const smallPng = await sharp(Buffer.from(raw.map((v) => 255 - v)), { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } }).resize(112, 112).png().toBuffer();
const smallJson = JSON.stringify({ pixels: Array.from(raw, (v) => v / 255) });

const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'serve', '--model-dir', dir, '--port', '0', '--backend', 'cpu', '--limit', '500'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise<string>((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const m = /at (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`mnist serve exited (${code}) before listening: ${out}`)));
});
const url = new URL('/api/predict', base);

function memoryKiB(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

async function send(body: Buffer | string, type: string): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  await res.arrayBuffer();
  return res.status;
}

await send(smallJson, 'application/json'); // warm-up: model load
await send(smallPng, 'image/png');
const idleRss = memoryKiB('VmRSS');
console.log(`CPU: ${os.cpus()[0]?.model ?? '?'} (${os.availableParallelism()} available), load average ${os.loadavg()[0].toFixed(1)}`);
console.log(`big uploads: RGBA ${(rgbaBig.length / 1024).toFixed(0)} KiB, grey ${(greyBig.length / 1024).toFixed(0)} KiB, ${BIG}×${BIG}; ${uploads} concurrent, ${rounds} round(s)`);
console.log(`server RSS before the flood: ${mib(idleRss)} (peak so far ${mib(memoryKiB('VmHWM'))})`);

const statuses = new Map<number | string, number>();
type Latencies = Record<'png' | 'json', number[]>;
let flooding = true;
/** Small predictions one after the other, 20 ms apart, until `flooding` is false. */
async function smallPredictions(into: Latencies): Promise<void> {
  while (flooding) {
    for (const kind of ['png', 'json'] as const) {
      const t = performance.now();
      const status = await send(kind === 'png' ? smallPng : smallJson, kind === 'png' ? 'image/png' : 'application/json');
      if (status === 200) into[kind].push(performance.now() - t);
      else statuses.set(`small ${status}`, (statuses.get(`small ${status}`) ?? 0) + 1);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
// Control: the same small predictions with no flood, to tell the server's queueing from the machine's load.
const quiet: Latencies = { png: [], json: [] };
setTimeout(() => (flooding = false), 3000);
await smallPredictions(quiet);
flooding = true;
const small: Latencies = { png: [], json: [] };
const t0 = performance.now();
const smallLoop = smallPredictions(small);
for (let r = 0; r < rounds; r++) {
  await Promise.all(
    Array.from({ length: uploads }, async (_, k) => {
      const status = await send(k % 2 ? greyBig : rgbaBig, 'image/png').catch(() => 'network error' as const);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }),
  );
}
const floodSeconds = (performance.now() - t0) / 1000;
flooding = false;
await smallLoop;

const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))].toFixed(1) : '-');
console.log(`flood took ${floodSeconds.toFixed(1)} s; big uploads answered: ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}`);
console.log(`server peak RSS (VmHWM): ${mib(memoryKiB('VmHWM'))}; RSS after: ${mib(memoryKiB('VmRSS'))}`);
for (const [when, latencies] of [['without a flood', quiet], ['during the flood', small]] as const) {
  for (const kind of ['png', 'json'] as const) {
    const xs = latencies[kind];
    console.log(`small ${kind.padEnd(4)} predictions ${when.padEnd(16)}: ${String(xs.length).padStart(4)}, p50 ${pct(xs, 0.5)} ms, p99 ${pct(xs, 0.99)} ms, max ${pct(xs, 1)} ms`);
  }
}
child.kill('SIGINT');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
