import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, requirement, test } from '../helpers/requirements.js';
import { HttpError } from '../../src/web/http.js';
import { hostNameOf, requestGuard } from '../../src/web/request-guard.js';
import { chromiumPath, launchChromium } from './browser.js';
import { trainedServer, type TrainedServer } from './fixture.js';

const JSON_ONLY = new Set(['application/json']);

function fakeRequest(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

function refusal(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    assert.equal(err.status, 403);
    return err.message;
  }
}

const executable = chromiumPath();
const chromiumMissing = requirement('Chromium', executable ? undefined : 'not found, or no answer to --version in 20 s (apt-get install chromium, or set CHROMIUM_PATH)');

describe('request guard rules', () => {
  const guard = requestGuard('127.0.0.1', ['digits.lan']);
  const json = { host: '127.0.0.1:8080', 'content-type': 'application/json' };

  test('Host must name this server', () => {
    for (const host of ['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST', '[::1]:8080', 'digits.lan:80']) {
      assert.equal(refusal(() => guard.check(fakeRequest('GET', { host }), JSON_ONLY)), undefined, host);
    }
    for (const host of ['attacker.example:8080', 'attacker.example', '127.0.0.1.nip.io', '', 'a b', 'localhost:8080@evil']) {
      assert.match(refusal(() => guard.check(fakeRequest('GET', { host }), JSON_ONLY)) ?? 'accepted', /Host|no Host/, host);
    }
    assert.match(refusal(() => guard.check(fakeRequest('GET', {}), JSON_ONLY)) ?? '', /no Host header/);
  });

  test('a state-changing request must be same-origin (or carry no Origin)', () => {
    assert.equal(refusal(() => guard.check(fakeRequest('POST', json), JSON_ONLY)), undefined);
    assert.equal(refusal(() => guard.check(fakeRequest('POST', { ...json, origin: 'http://127.0.0.1:8080' }), JSON_ONLY)), undefined);
    for (const origin of ['http://127.0.0.1:9999', 'http://evil.example', 'null', 'https://127.0.0.1:8080', 'garbage']) {
      assert.match(refusal(() => guard.check(fakeRequest('POST', { ...json, origin }), JSON_ONLY)) ?? 'accepted', /cross-site request refused/, origin);
    }
    assert.match(refusal(() => guard.check(fakeRequest('POST', { ...json, 'sec-fetch-site': 'cross-site' }), JSON_ONLY)) ?? '', /Sec-Fetch-Site/);
  });

  test('a state-changing request must have a type no other site can send without a preflight', () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      const headers: Record<string, string> = { host: '127.0.0.1:8080' };
      if (type) headers['content-type'] = type;
      assert.match(refusal(() => guard.check(fakeRequest('POST', headers), JSON_ONLY)) ?? 'accepted', /Content-Type/, type);
    }
    assert.equal(refusal(() => guard.check(fakeRequest('POST', { ...json, 'content-type': 'application/json; charset=utf-8' }), JSON_ONLY)), undefined);
    // Reads are not checked for type or origin (a page cannot read the answer without CORS anyway).
    assert.equal(refusal(() => guard.check(fakeRequest('GET', { host: 'localhost', origin: 'http://evil.example' }), JSON_ONLY)), undefined);
  });

  test('bound to all interfaces, the machine\'s own addresses are accepted, others are not', () => {
    const open = requestGuard('0.0.0.0');
    assert.ok(open.allowedHosts.has('127.0.0.1'));
    assert.equal(refusal(() => open.check(fakeRequest('GET', { host: 'attacker.example' }), JSON_ONLY))?.includes('attacker.example'), true);
  });

  test('Host header parsing', () => {
    assert.equal(hostNameOf('Example.com:80'), 'example.com');
    assert.equal(hostNameOf('[::1]:8080'), '::1');
    assert.equal(hostNameOf('a:b:c'), undefined);
    assert.equal(hostNameOf('x/y'), undefined);
  });
});

/** Every file of a directory with its SHA-256, to prove nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex');
  return out;
}

function rawRequest(url: string, opts: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method, headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('mnist serve refuses cross-site and rebound requests', () => {
  let fx: TrainedServer;
  before(async () => {
    fx = await trainedServer({ steps: 100 });
  });
  after(async () => {
    await fx?.close();
  });

  test('forged requests are answered 403 with a JSON error and change nothing', async () => {
    const before = snapshot(fx.dir);
    const url = new URL('/api/train', fx.server.url).href;
    const port = new URL(fx.server.url).port;
    const attacks: Array<{ method: string; headers: Record<string, string>; body?: string; path?: string }> = [
      { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"steps":150,"fresh":true}' },
      { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'steps=150&fresh=true' },
      { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'http://127.0.0.1:1' }, body: '{"steps":150,"fresh":true}' },
      { method: 'POST', headers: { 'Content-Type': 'application/json', Host: `attacker.example:${port}` }, body: '{"steps":150,"fresh":true}' },
      { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}', path: '/api/train/stop' },
      { method: 'GET', headers: { Host: `attacker.example:${port}` }, path: '/api/checkpoints' },
    ];
    for (const attack of attacks) {
      const res = await rawRequest(attack.path ? new URL(attack.path, fx.server.url).href : url, attack);
      assert.equal(res.status, 403, `${JSON.stringify(attack)} → ${res.status} ${res.body}`);
      assert.match(JSON.parse(res.body).error, /refused|not this server/);
    }
    assert.equal(fx.server.job.status().state, 'idle');
    assert.deepEqual(snapshot(fx.dir), before);
  });

  test('page-started runs are bounded: batch size and steps beyond the limits are a 400', async () => {
    for (const body of ['{"batchSize": 1000}', '{"steps": 100000}', '{"steps": 50}']) {
      const res = await rawRequest(new URL('/api/train', fx.server.url).href, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assert.equal(res.status, 400, `${body} → ${res.status} ${res.body}`);
    }
    assert.equal(fx.server.job.status().state, 'idle');
  });

  test('in Chromium, a page on another origin cannot start or stop training', { skip: chromiumMissing, timeout: 120_000 }, async () => {
    const before = snapshot(fx.dir);
    const target = new URL('/api/train', fx.server.url).href;
    const attackPage = `<!doctype html><body><form id="f" method="POST" action="${target}" enctype="text/plain" target="sink">
<input name='{"steps":150,"fresh":true,"x":"' value='"}'></form><iframe name="sink"></iframe><script>
const opts = (type, body) => ({ method: 'POST', mode: 'no-cors', headers: { 'Content-Type': type }, body });
Promise.allSettled([
  fetch(${JSON.stringify(target)}, opts('text/plain', '{"steps":150,"fresh":true}')),
  fetch(${JSON.stringify(target)}, opts('application/x-www-form-urlencoded', 'steps=150&fresh=true')),
  fetch(${JSON.stringify(target)}, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"steps":150,"fresh":true}' }),
  fetch(${JSON.stringify(target + '/stop')}, opts('text/plain', '')),
]).then(() => { document.getElementById('f').submit(); setTimeout(() => { document.title = 'done'; }, 1500); });
</script></body>`;
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(attackPage);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const browser = await launchChromium(executable!);
    try {
      const page = await browser.context.newPage();
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 60_000 });
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
    assert.equal(fx.server.job.status().state, 'idle', 'no training run was started');
    assert.deepEqual(snapshot(fx.dir), before, 'the model directory is byte-for-byte unchanged');
  });
});
