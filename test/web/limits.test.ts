import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { selectBackend } from '../../src/backend/select.js';
import { loadMnist } from '../../src/data/mnist.js';
import { BOOK_DEFAULTS } from '../../src/train/config.js';
import { train } from '../../src/train/train.js';
import { DecodeQueue, QueueFullError } from '../../src/web/decode-queue.js';
import { startServer, type RunningServer } from '../../src/web/server.js';

describe('DecodeQueue', () => {
  test('runs at most `concurrency` tasks, queues `maxWaiting` more in order, refuses the rest with a 503', async () => {
    const queue = new DecodeQueue({ concurrency: 2, maxWaiting: 1 });
    const started: number[] = [];
    const release: Array<() => void> = [];
    const task = (k: number) => () =>
      new Promise<number>((resolve) => {
        started.push(k);
        release[k] = () => resolve(k);
      });
    const results = [0, 1, 2].map((k) => queue.run(task(k)));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1]);
    assert.equal(queue.running, 2);
    assert.equal(queue.queued, 1);
    await assert.rejects(queue.run(task(3)), (e: unknown) => e instanceof QueueFullError && e.status === 503 && e.retryAfter === 1 && /busy/.test(e.message));
    release[1]();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1, 2]);
    release[0]();
    release[2]();
    assert.deepEqual(await Promise.all(results), [0, 1, 2]);
    assert.equal(queue.running, 0);
    // a failing task frees its slot too
    await assert.rejects(queue.run(() => Promise.reject(new Error('bad image'))), /bad image/);
    assert.equal(queue.running, 0);
  });
});

describe('mnist serve under load and slow clients', () => {
  let dir: string;
  let server: RunningServer;
  before(async () => {
    await selectBackend('cpu');
    dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-limits-'));
    const data = loadMnist({ limit: 300 });
    await train({ ...BOOK_DEFAULTS, model: 'softmax', modelDir: dir, steps: 1, logEvery: 1e9 }, data.train, { start() {}, step() {}, log() {}, stop() {} });
    server = await startServer({
      modelDir: dir,
      port: 0,
      limit: 300,
      backend: 'cpu',
      log: () => {},
      limits: { queue: { concurrency: 1, maxWaiting: 1 } },
    });
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('big uploads beyond the queue get 503 with Retry-After; small images and pixels skip the queue', async () => {
    const big = await sharp({ create: { width: 2048, height: 2048, channels: 3, background: '#ffffff' } })
      .composite([{ input: { create: { width: 200, height: 1000, channels: 3, background: '#000000' } }, left: 900, top: 500 }])
      .png()
      .toBuffer();
    const small = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#ffffff' } })
      .composite([{ input: { create: { width: 10, height: 60, channels: 3, background: '#000000' } }, left: 45, top: 20 }])
      .png()
      .toBuffer();
    const post = async (body: Buffer) => {
      const res = await fetch(new URL('/api/predict', server.url), { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: new Uint8Array(body) });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as { error?: string; digit?: number } };
    };
    const [bigs, smalls] = await Promise.all([Promise.all(Array.from({ length: 6 }, () => post(big))), Promise.all(Array.from({ length: 4 }, () => post(small)))]);
    const busy = bigs.filter((r) => r.status === 503);
    const ok = bigs.filter((r) => r.status === 200);
    assert.ok(ok.length >= 2, `statuses ${bigs.map((r) => r.status)}`);
    assert.ok(busy.length >= 1, `statuses ${bigs.map((r) => r.status)}`);
    for (const r of busy) {
      assert.equal(r.retryAfter, '1');
      assert.match(String(r.json.error), /server busy/);
    }
    assert.deepEqual(smalls.map((r) => r.status), [200, 200, 200, 200]);
  });

  test('a stalled upload and a stalled header are dropped after the request timeout', async () => {
    // Its own server: timeouts this short would also cut off honest uploads on a busy test machine.
    const impatient = await startServer({ modelDir: dir, port: 0, limit: 300, backend: 'cpu', log: () => {}, limits: { timeouts: { headersMs: 500, requestMs: 1000, keepAliveMs: 500 } } });
    const { port } = new URL(impatient.url);
    const stall = (data: string) =>
      new Promise<{ ms: number; reply: string }>((resolve, reject) => {
        const t = performance.now();
        let reply = '';
        const socket = connect(Number(port), '127.0.0.1', () => socket.write(data));
        socket.on('data', (c: Buffer) => (reply += c.toString()));
        socket.on('close', () => resolve({ ms: performance.now() - t, reply }));
        socket.on('error', reject);
        setTimeout(() => {
          socket.destroy();
          reject(new Error('still open after 8 s'));
        }, 8000).unref();
      });
    const [body, headers] = await Promise.all([
      stall('POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n\x89PNG'),
      stall('GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\n'),
    ]).finally(() => impatient.close());
    assert.ok(body.ms < 4000, `stalled body closed after ${body.ms.toFixed(0)} ms`);
    assert.ok(headers.ms < 4000, `stalled header closed after ${headers.ms.toFixed(0)} ms`);
  });
});
