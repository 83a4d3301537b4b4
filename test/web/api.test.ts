import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { IMAGE_PIXELS, IMAGE_SIZE } from '../../src/data/mnist.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { imageToMnist } from '../../src/predict/preprocess.js';
import { predictDigits } from '../../src/predict/predict.js';
import { trainedServer, type TrainedServer } from './fixture.js';
import { MAX_PAGE_NEW_STEPS } from '../../src/web/server.js';
import { readSse, type SseMessage } from './sse.js';

let fx: TrainedServer;
let base: string;

before(async () => {
  fx = await trainedServer();
  base = fx.server.url;
});
after(async () => {
  await fx?.close();
});

/** Test image `i` as raw pixels, and as a PNG the way a user would upload it: 4× larger, dark ink on white. */
function testImage(i: number): { raw: Uint8Array; label: number } {
  const test = fx.data.test;
  return { raw: test.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS), label: test.labels[i] };
}

async function asPng(raw: Uint8Array, scale = 4): Promise<Buffer> {
  const inverted = Buffer.from(raw.map((v) => 255 - v));
  return sharp(inverted, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
    .resize(IMAGE_SIZE * scale, IMAGE_SIZE * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
}

/** Indices of the first `n` test images the model gets right with confidence (robust choices). */
function confidentlyRight(n: number): number[] {
  const model = fx.server.store.model().model;
  const out: number[] = [];
  for (let i = 0; out.length < n; i++) {
    const { raw, label } = testImage(i);
    const [p] = predictDigits(model, [Float32Array.from(raw, (v) => v / 255)]);
    if (p.digit === label && p.probabilities[label] > 0.8) out.push(i);
  }
  return out;
}

async function post(path: string, body: string | Buffer, contentType?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(new URL(path, base), { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: contentType ? { 'Content-Type': contentType } : {} });
  const text = await res.text();
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, `${path} answered ${res.status} with ${text.slice(0, 80)}`);
  return { status: res.status, json: JSON.parse(text) as Record<string, unknown> };
}

async function get(path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(new URL(path, base));
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('POST /api/predict', () => {
  test('a PNG is preprocessed exactly as `mnist predict` does and recognised', async () => {
    for (const i of confidentlyRight(3)) {
      const { raw, label } = testImage(i);
      const png = await asPng(raw);
      const { status, json } = await post('/api/predict', png, 'image/png');
      assert.equal(status, 200, JSON.stringify(json));
      assert.equal(json.digit, label);
      const probs = json.probabilities as number[];
      assert.equal(probs.length, 10);
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-4);
      assert.equal(probs.indexOf(Math.max(...probs)), label);
      const expected = await imageToMnist(png, 'x.png');
      const input = json.input as number[];
      assert.equal(input.length, IMAGE_PIXELS);
      input.forEach((v, k) => assert.ok(Math.abs(v - expected[k]) <= 5e-4, `input[${k}] ${v} vs ${expected[k]}`));
      assert.equal(json.checkpoint, 'model.ckpt-200');
      assert.equal(json.step, 200);
    }
  });

  test('784 pixels as JSON are used as they are; base64 images work too', async () => {
    const [i] = confidentlyRight(1);
    const { raw, label } = testImage(i);
    const pixels = Array.from(raw, (v) => v / 255);
    const { status, json } = await post('/api/predict', JSON.stringify({ pixels }), 'application/json');
    assert.equal(status, 200);
    const [direct] = predictDigits(fx.server.store.model().model, [Float32Array.from(pixels)]);
    assert.equal(json.digit, label);
    (json.probabilities as number[]).forEach((p, d) => assert.ok(Math.abs(p - direct.probabilities[d]) < 1e-6));
    assert.deepEqual((json.input as number[]).map((v) => Math.round(v * 255)), Array.from(raw));

    const png = await asPng(raw, 2);
    const b64 = await post('/api/predict', JSON.stringify({ image: `data:image/png;base64,${png.toString('base64')}` }), 'application/json');
    assert.equal(b64.status, 200);
    assert.equal(b64.json.digit, label);
  });

  test('a number is read digit by digit, left to right; the first digit keeps the old fields; single=1 reads one digit', async () => {
    const png = readFileSync('examples/digits/2024.png');
    const { status, json } = await post('/api/predict', png, 'image/png');
    assert.equal(status, 200, JSON.stringify(json));
    const digits = json.digits as Array<{ digit: number; confidence: number; probabilities: number[]; input: number[]; box: { x: number; width: number } }>;
    assert.equal(digits.length, 4);
    assert.equal(json.number, digits.map((d) => d.digit).join(''));
    assert.equal(json.digit, digits[0].digit);
    assert.deepEqual(json.probabilities, digits[0].probabilities);
    assert.deepEqual(json.input, digits[0].input);
    for (const [k, d] of digits.entries()) {
      assert.equal(d.confidence, d.probabilities[d.digit]);
      assert.equal(d.input.length, IMAGE_PIXELS);
      if (k) assert.ok(d.box.x > digits[k - 1].box.x + digits[k - 1].box.width - 2);
    }
    const single = await post('/api/predict?single=1', png, 'image/png');
    assert.equal((single.json.digits as unknown[]).length, 1);
    const singleJson = await post('/api/predict', JSON.stringify({ image: png.toString('base64'), single: true }), 'application/json');
    assert.equal((singleJson.json.digits as unknown[]).length, 1);
    const bad = await post('/api/predict?single=maybe', png, 'image/png');
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /"single" must be true or false/);
  });

  test('an older checkpoint can be picked by name; an unknown one is a 404', async () => {
    const pixels = Array.from(testImage(0).raw, (v) => v / 255);
    const old = await post('/api/predict?checkpoint=model.ckpt-100', JSON.stringify({ pixels }), 'application/json');
    assert.equal(old.status, 200);
    assert.equal(old.json.checkpoint, 'model.ckpt-100');
    assert.equal(old.json.step, 100);
    const missing = await post('/api/predict', JSON.stringify({ pixels, checkpoint: '../../etc/passwd' }), 'application/json');
    assert.equal(missing.status, 404);
    assert.match(String(missing.json.error), /no checkpoint named/);
  });

  test('garbage gets a 4xx JSON error, never a crash', async () => {
    const cases: Array<[string, string | Buffer, string | undefined, number, RegExp]> = [
      ['malformed JSON', '{"pixels": [0, 1', 'application/json', 400, /not valid JSON/],
      ['JSON array', '[1, 2, 3]', 'application/json', 400, /must be a JSON object/],
      ['no image field', '{}', 'application/json', 400, /expected "pixels"/],
      ['unknown field', '{"pixel": []}', 'application/json', 400, /unknown field "pixel"/],
      ['short pixels', JSON.stringify({ pixels: [0, 0.5] }), 'application/json', 400, /784 numbers/],
      ['pixel out of range', JSON.stringify({ pixels: new Array(784).fill(0).map((_, k) => (k === 7 ? 255 : 0)) }), 'application/json', 400, /"pixels"\[7\] must be a number in \[0, 1\]/],
      ['pixel not a number', JSON.stringify({ pixels: new Array(784).fill('a') }), 'application/json', 400, /"pixels"\[0\]/],
      ['bad base64', JSON.stringify({ image: '***' }), 'application/json', 400, /not valid base64/],
      ['base64 of text', JSON.stringify({ image: Buffer.from('hello').toString('base64') }), 'application/json', 400, /not a readable image/],
      ['PNG header only', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]), 'image/png', 400, /not a readable image/],
      ['empty PNG body', Buffer.alloc(0), 'image/png', 400, /empty/],
      ['blank PNG', await sharp(Buffer.alloc(40 * 40, 255), { raw: { width: 40, height: 40, channels: 1 } }).png().toBuffer(), 'image/png', 400, /no digit found/],
      // A type another site could send without a CORS preflight is refused before the handler runs.
      ['text/plain', 'seven', 'text/plain', 403, /Content-Type "text\/plain" refused/],
      ['no content type', Buffer.from('x'), undefined, 403, /Content-Type "\(none\)" refused/],
      ['oversized body', Buffer.alloc(2 << 20, 1), 'image/png', 413, /larger than 1 MiB/],
    ];
    for (const [name, body, type, status, message] of cases) {
      const res = await post('/api/predict', body, type);
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.json)}`);
      assert.match(String(res.json.error), message, name);
    }
  });

  test('an oversized chunked upload (no Content-Length) is cut off with a 413', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(new URL('/api/predict', base), { method: 'POST', headers: { 'Content-Type': 'image/png', 'Transfer-Encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 << 10, 7);
      let sent = 0;
      const pump = () => {
        while (sent < 3 << 20) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(status, 413);
    assert.match(JSON.parse(body).error, /larger than 1 MiB/);
  });

  test('an image that decodes to too many pixels is refused before decoding', async () => {
    const huge = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: '#000' } }).png().toBuffer();
    assert.ok(huge.length < 1 << 20, 'the test image is small on the wire');
    const res = await post('/api/predict', huge, 'image/png');
    assert.equal(res.status, 413);
    assert.match(String(res.json.error), /image is 5000×5000 \(25 megapixels\); at most 16.8 megapixels/);
  });
});

describe('other endpoints', () => {
  test('wrong method → 405 with Allow; unknown API path → 404 JSON; page is served', async () => {
    const res = await fetch(new URL('/api/predict', base));
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    assert.match(((await res.json()) as { error: string }).error, /GET is not allowed/);
    const missing = await get('/api/nope');
    assert.equal(missing.status, 404);
    assert.match(String(missing.json.error), /no such API endpoint/);
    const traversal = await fetch(new URL('/..%2f..%2fpackage.json', base));
    assert.equal(traversal.status, 404);
  });

  test('GET /api/checkpoints lists every checkpoint with its validation accuracy', async () => {
    const { status, json } = await get('/api/checkpoints');
    assert.equal(status, 200);
    const rows = json.checkpoints as Array<{ name: string; step: number; latest: boolean; validationAccuracy: number }>;
    assert.deepEqual(rows.map((r) => [r.name, r.step, r.latest]), [
      ['model.ckpt-100', 100, false],
      ['model.ckpt-200', 200, true],
    ]);
    const expected = evaluate(fx.server.store.model('model.ckpt-200').model, fx.data.validation).accuracy;
    assert.equal(rows[1].validationAccuracy, expected);
    assert.ok(expected > 0.8, `validation accuracy ${expected}`);
  });

  test('GET /api/mistakes pages through the test images the model gets wrong', async () => {
    const model = fx.server.store.model().model;
    const { predictions } = evaluate(model, fx.data.test);
    const wrong = [...predictions.keys()].filter((i) => predictions[i] !== fx.data.test.labels[i]);
    const first = await get('/api/mistakes?limit=5');
    assert.equal(first.status, 200);
    assert.equal(first.json.total, wrong.length);
    assert.equal(first.json.testCount, fx.data.test.count);
    const items = first.json.items as Array<{ index: number; label: number; prediction: number; pixels: string }>;
    assert.deepEqual(items.map((m) => m.index), wrong.slice(0, 5));
    for (const m of items) {
      assert.notEqual(m.label, m.prediction);
      assert.equal(m.label, fx.data.test.labels[m.index]);
      assert.deepEqual(Buffer.from(m.pixels, 'base64'), Buffer.from(testImage(m.index).raw));
    }
    const second = await get('/api/mistakes?offset=5&limit=5');
    assert.deepEqual((second.json.items as Array<{ index: number }>).map((m) => m.index), wrong.slice(5, 10));
    assert.equal((await get('/api/mistakes?limit=0')).status, 400);
    assert.equal((await get('/api/mistakes?offset=-1')).status, 400);
  });

  test('GET /api/events replays the training log: start, steps, checkpoints, end, validation', async () => {
    const events = await readSse(new URL('/api/events', base), (all) => all.some((e) => e.event === 'ready'), 20_000);
    const types = new Set(events.filter((e) => e.event === 'train').map((e) => (e.data as { type: string }).type));
    for (const t of ['start', 'step', 'checkpoint', 'end']) assert.ok(types.has(t), `no ${t} event in ${[...types]}`);
    assert.deepEqual(events[0], { event: 'job', data: { state: 'idle' } });
  });
});

describe('POST /api/train', () => {
  test('rejects bad requests', async () => {
    for (const [body, message] of [
      ['{"steps": 0}', /"steps" must be a whole number/],
      ['{"steps": "many"}', /"steps"/],
      ['{"model": "resnet"}', /"model" must be one of/],
      ['{"model": "mlp"}', /holds a "softmax" model/],
      ['{"stpes": 10}', /unknown field "stpes"/],
      ['{"fresh": "yes"}', /"fresh" must be true or false/],
      ['{"steps": 150}', /already at step 200: ask for more than 200/],
      ['{"batchSize": 513}', /"batchSize" must be a whole number from 1 to 512/],
      ['{"steps": 30000}', /at most 20000 steps/],
      ['nope', /not valid JSON/],
    ] as const) {
      const res = await post('/api/train', body, 'application/json');
      assert.ok(res.status === 400 || res.status === 409, `${body}: ${res.status}`);
      assert.match(String(res.json.error), message);
    }
  });

  test('trains in a worker thread; events stream live; predict follows the newest checkpoint', async () => {
    const finished = (all: SseMessage[]) =>
      all.some((e) => e.event === 'job' && (e.data as { state: string }).state === 'done') &&
      all.some((e) => e.event === 'train' && (e.data as { type: string; step: number }).type === 'end' && (e.data as { step: number }).step === 220);
    const stream = readSse(new URL('/api/events', base), finished, 120_000);
    const started = await post('/api/train', JSON.stringify({ steps: 220, checkpointEvery: 10 }), 'application/json');
    assert.equal(started.status, 202, JSON.stringify(started.json));
    assert.equal(started.json.state, 'starting');
    const again = await post('/api/train', JSON.stringify({ steps: 240 }), 'application/json');
    assert.equal(again.status, 409);
    // The server keeps answering while the worker trains.
    assert.equal((await get('/api/info')).status, 200);

    const events = await stream;
    const live = events.filter((e) => e.event === 'train').map((e) => e.data as { type: string; step: number });
    const steps = live.filter((e) => e.type === 'step').map((e) => e.step);
    assert.ok(steps.some((s) => s > 200), `no step past 200 in ${steps}`);
    assert.ok(live.some((e) => e.type === 'checkpoint' && e.step === 220));
    const done = events.filter((e) => e.event === 'job').at(-1)!.data as { state: string; step: number; toStep: number };
    assert.equal(done.step, 220);
    assert.equal(done.toStep, 220);

    const pixels = Array.from(testImage(0).raw, (v) => v / 255);
    const res = await post('/api/predict', JSON.stringify({ pixels }), 'application/json');
    assert.equal(res.json.checkpoint, 'model.ckpt-220');
    assert.equal(res.json.step, 220);
    const { json } = await get('/api/checkpoints');
    assert.ok((json.checkpoints as Array<{ name: string }>).some((c) => c.name === 'model.ckpt-210'));
  });
  test('a run can be stopped: it ends early and saves a checkpoint at the step it reached', async () => {
    const jobState = (e: SseMessage) => (e.event === 'job' ? (e.data as { state: string; step?: number }) : undefined);
    // The longest run the server accepts (`steps` is the total to reach), so that the stop always comes first however fast the machine.
    const fromStep = (await get('/api/info')).json.latestStep as number;
    const started = await post('/api/train', JSON.stringify({ steps: fromStep + MAX_PAGE_NEW_STEPS }), 'application/json');
    assert.equal(started.status, 202, JSON.stringify(started.json));
    await readSse(new URL('/api/events', base), (all) => all.some((e) => jobState(e)?.state === 'running' && (jobState(e)?.step ?? 0) > fromStep + 1), 120_000);
    const finished = readSse(new URL('/api/events', base), (all) => all.some((e) => jobState(e)?.state === 'done'), 120_000);
    const stop = await post('/api/train/stop', '{}', 'application/json');
    assert.equal(stop.status, 200);
    assert.equal(stop.json.stopping, true);
    const done = (await finished).map(jobState).find((j) => j?.state === 'done') as unknown as { step: number; toStep: number };
    assert.ok(done.step > fromStep + 1 && done.step < done.toStep, `stopped at ${done.step} of ${fromStep}..${done.toStep}`);
    const { json } = await get('/api/checkpoints?accuracy=0');
    const newest = (json.checkpoints as Array<{ name: string; latest: boolean }>).find((c) => c.latest);
    assert.equal(newest?.name, `model.ckpt-${done.step}`);
  });
});

describe('load', () => {
  test('a bounded burst of concurrent predicts all succeed (throughput and latency logged)', async () => {
    const total = 200;
    const concurrency = 16;
    const inputs = await Promise.all([0, 1, 2, 3].map(async (i) => ({ png: await asPng(testImage(i).raw), pixels: JSON.stringify({ pixels: Array.from(testImage(i).raw, (v) => v / 255) }) })));
    const expected = await Promise.all(inputs.map(async (inp) => (await post('/api/predict', inp.png, 'image/png')).json.digit));
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const k = next++;
          const inp = inputs[k % inputs.length];
          const usePng = k % 2 === 0;
          const t = performance.now();
          const res = await post('/api/predict', usePng ? inp.png : inp.pixels, usePng ? 'image/png' : 'application/json');
          latencies.push(performance.now() - t);
          assert.equal(res.status, 200);
          if (usePng) assert.equal(res.json.digit, expected[k % inputs.length]);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1);
    console.log(
      `# burst: ${total} predicts (half PNG, half JSON pixels), ${concurrency} at a time: ${(total / seconds).toFixed(0)} requests/s; ` +
        `latency p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
    );
    assert.equal(latencies.length, total);
    assert.equal((await get('/api/info')).status, 200);
  });
});
