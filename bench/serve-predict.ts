/**
 * Throughput and latency of `mnist serve`'s POST /api/predict on loopback: bursts of requests
 * (PNG uploads and JSON pixel arrays) at several concurrency levels, per model.
 *
 *   node --import tsx bench/serve-predict.ts [backend=cpu] [requests=200]
 *
 * The weights don't matter for speed: each model gets one training step into a temp folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { selectBackend, type BackendChoice } from '../src/backend/select.js';
import { IMAGE_PIXELS, IMAGE_SIZE, loadMnist } from '../src/data/mnist.js';
import { getModelDefinition } from '../src/models/registry.js';
import { BOOK_DEFAULTS } from '../src/train/config.js';
import { train } from '../src/train/train.js';
import { startServer } from '../src/web/server.js';

const backend = (process.argv[2] ?? 'cpu') as BackendChoice;
const requests = Number(process.argv[3] ?? 200);
const { name: backendName } = await selectBackend(backend);
const data = loadMnist({ limit: 500 });
const quiet = { start() {}, step() {}, log() {}, stop() {} };
const digits = [0, 1, 2, 3].map((i) => data.test.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS));
const pngs = await Promise.all(
  digits.map((raw) =>
    sharp(Buffer.from(raw.map((v) => 255 - v)), { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
      .resize(280, 280)
      .png()
      .toBuffer(),
  ),
);
const jsons = digits.map((raw) => JSON.stringify({ pixels: Array.from(raw, (v) => v / 255) }));

console.log(`backend ${backendName}, ${requests} requests per row, ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0].toFixed(1)}`);
console.log('model    body    concurrency  requests/s  p50 ms  p95 ms  max ms');
for (const model of ['softmax', 'mlp']) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-bench-serve-'));
  await train({ ...BOOK_DEFAULTS, ...getModelDefinition(model).defaults, model, modelDir: dir, steps: 1, logEvery: 1e9 }, data.train, quiet);
  const server = await startServer({ modelDir: dir, port: 0, limit: 500, backend, log: () => {} });
  const url = new URL('/api/predict', server.url);
  for (const body of ['png', 'pixels'] as const) {
    for (const concurrency of [1, 4, 16]) {
      const send = (k: number) =>
        fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': body === 'png' ? 'image/png' : 'application/json' },
          body: body === 'png' ? new Uint8Array(pngs[k % pngs.length]) : jsons[k % jsons.length],
        }).then(async (r) => {
          await r.arrayBuffer();
          if (r.status !== 200) throw new Error(`status ${r.status}`);
        });
      await send(0); // warm-up: model load
      const latencies: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < requests) {
            const k = next++;
            const t = performance.now();
            await send(k);
            latencies.push(performance.now() - t);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1).padStart(7);
      console.log(
        `${model.padEnd(8)} ${body.padEnd(7)} ${String(concurrency).padStart(11)}  ${(requests / seconds).toFixed(0).padStart(10)} ${pct(0.5)} ${pct(0.95)} ${latencies.at(-1)!.toFixed(1).padStart(7)}`,
      );
    }
  }
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
