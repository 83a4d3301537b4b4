import * as tf from '@tensorflow/tfjs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackendChoice } from '../backend/select.js';
import { IMAGE_PIXELS } from '../data/mnist.js';
import { UserError } from '../errors.js';
import { modelNames } from '../models/registry.js';
import { predictDigits } from '../predict/predict.js';
import { recipeTrainOptions, resolveRecipe } from '../train/recipe.js';
import { EventFeed, type FeedEvent } from './event-feed.js';
import { HttpError, optionalInt, optionalNumber, readJson, requireObject, sendError, sendJson } from './http.js';
import { ModelStore, type ModelStoreOptions } from './model-store.js';
import { optionalCheckpoint, PREDICT_TYPES, predictReply, readPredictInput } from './predict-input.js';
import { requestGuard } from './request-guard.js';
import { DecodeQueue, type DecodeQueueOptions } from './decode-queue.js';
import { serverOptions, withRetryAfter, type ServerTimeouts } from './limits.js';
import { DEFAULT_PAGE_DIR, serveStatic } from './static-files.js';
import { TrainJob, type JobStatus } from './train-job.js';

export interface ServeOptions extends ModelStoreOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Backend for training runs started from the page (each runs in a worker thread). */
  backend?: BackendChoice;
  pageDir?: string;
  /** Where unexpected server errors are reported. */
  log?: (line: string) => void;
  /** Host names accepted besides loopback and the bound address (`--allowed-host`). */
  allowedHosts?: readonly string[];
  /** Bounds on uploaded images (decoding queue) and on slow clients (timeouts); see limits.ts. */
  limits?: { queue?: DecodeQueueOptions; timeouts?: Partial<ServerTimeouts> };
}

export interface RunningServer {
  url: string;
  server: Server;
  store: ModelStore;
  feed: EventFeed;
  job: TrainJob;
  close(): Promise<void>;
}

const TRAIN_BODY_LIMIT = 16 << 10;
/** Page-started runs are bounded: a total of at most this global step … */
export const MAX_PAGE_STEPS = 100_000;
/** … at most this many new steps in one run … */
export const MAX_PAGE_NEW_STEPS = 20_000;
/** … and batches no larger than this (vgg-cnn at batch 1,000 took 2.4 GB). */
export const MAX_PAGE_BATCH = 512;
const JSON_BODY = new Set(['application/json']);
/** A run that wrote an event this recently without an `end` is taken to be still going. */
const FOREIGN_RUN_QUIET_MS = 15_000;
const SSE_HEARTBEAT_MS = 15_000;

/**
 * `mnist serve`: the page (static files) and a JSON API under /api/ over one model directory.
 * Every handler failure becomes a JSON error; nothing a client sends can stop the process.
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const store = new ModelStore(opts);
  const feed = new EventFeed(opts.modelDir);
  const job = new TrainJob({ backend: opts.backend ?? 'auto', dataDir: opts.dataDir, limit: opts.limit });
  const pageDir = opts.pageDir ?? DEFAULT_PAGE_DIR;
  const log = opts.log ?? ((line: string) => console.error(line));
  const streams = new Set<ServerResponse>();
  const validations = validationQueue(store, feed, log);
  const decodes = new DecodeQueue(opts.limits?.queue);

  job.onChange((status) => {
    // The worker appended its events before telling us: take them first, so a stream shows
    // a run's last steps and its end before the job's "done".
    feed.poll();
    for (const res of streams) writeSse(res, 'job', status);
  });

  const guard = requestGuard(opts.host ?? '127.0.0.1', opts.allowedHosts);
  type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;
  /** Media types each state-changing endpoint accepts (see request-guard.ts). */
  const bodyTypes: Record<string, ReadonlySet<string>> = { '/api/predict': PREDICT_TYPES };
  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/api/info': { GET: (_req, res) => sendJson(res, 200, { ...info(store, job), allowedHosts: [...guard.allowedHosts] }) },
    '/api/predict': { POST: (req, res, url) => withRetryAfter(res, () => predict(store, decodes, req, res, url)) },
    '/api/checkpoints': { GET: async (_req, res, url) => sendJson(res, 200, await checkpoints(store, url)) },
    '/api/mistakes': { GET: async (_req, res, url) => sendJson(res, 200, await mistakes(store, url)) },
    '/api/events': { GET: (req, res) => events(req, res, feed, job, streams) },
    '/api/train': {
      GET: (_req, res) => sendJson(res, 200, job.status()),
      POST: async (req, res) => sendJson(res, 202, startTraining(store, feed, job, await readJson(req, TRAIN_BODY_LIMIT))),
    },
    '/api/train/stop': { POST: (_req, res) => sendJson(res, 200, { stopping: job.stop(), status: job.status() }) },
  };

  const server = createServer(serverOptions(opts.limits?.timeouts), (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendError(res, err.status, err.message);
      if (err instanceof UserError) return sendError(res, 400, err.message);
      log(`mnist serve: ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
      sendError(res, 500, `internal error: ${(err as Error)?.message ?? String(err)}`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.on('error', () => res.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    guard.check(req, bodyTypes[url.pathname] ?? JSON_BODY);
    const route = routes[url.pathname];
    if (route) {
      const handler = route[req.method ?? 'GET'];
      if (!handler) {
        res.setHeader('Allow', Object.keys(route).join(', '));
        throw new HttpError(405, `${req.method} is not allowed on ${url.pathname} (use ${Object.keys(route).join(' or ')})`);
      }
      return handler(req, res, url);
    }
    if (url.pathname.startsWith('/api/')) throw new HttpError(404, `no such API endpoint: ${url.pathname}`);
    if ((req.method === 'GET' || req.method === 'HEAD') && (await serveStatic(pageDir, url.pathname, res, req.method === 'HEAD'))) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  }

  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A client too slow with its headers or body (headersTimeout, requestTimeout) gets a 408.
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Only once listening: a server that failed to start leaves nothing running.
  feed.start();
  feed.subscribe((event) => {
    if (event.type === 'checkpoint') validations.add(event.checkpoint);
  });
  for (const c of store.checkpoints()) validations.add(c.name);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(': ping\n\n');
  }, SSE_HEARTBEAT_MS);
  heartbeat.unref();

  return {
    url: `http://${host}:${address.port}/`,
    server,
    store,
    feed,
    job,
    async close() {
      clearInterval(heartbeat);
      feed.stop();
      validations.stop();
      for (const res of streams) res.end();
      await job.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      store.dispose();
    },
  };
}

function info(store: ModelStore, job: TrainJob) {
  const all = store.checkpoints();
  const latest = all.find((c) => c.latest) ?? all.at(-1);
  return {
    modelDir: store.modelDir,
    model: store.modelName(),
    models: modelNames(),
    backend: tf.getBackend(),
    latest: latest?.name ?? null,
    latestStep: latest?.step ?? 0,
    checkpoints: all.length,
    job: job.status(),
  };
}

async function predict(store: ModelStore, decodes: DecodeQueue, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const input = await readPredictInput(req, decodes, url);
  const entry = store.resolve(input.checkpoint ?? optionalCheckpoint(url.searchParams.get('checkpoint')));
  const loaded = store.model(entry.name);
  sendJson(res, 200, {
    ...predictReply(loaded.model, input),
    checkpoint: entry.name,
    step: loaded.globalStep,
    usedEma: loaded.usedEma,
    model: loaded.model.name,
  });
}

async function checkpoints(store: ModelStore, url: URL) {
  const withAccuracy = url.searchParams.get('accuracy') !== '0';
  const rows = [];
  for (const c of store.checkpoints()) {
    let accuracy = store.cachedAccuracy(c) ?? null;
    if (accuracy === null && withAccuracy) {
      // null when the trainer deleted it meanwhile (max_to_keep), or it is unreadable
      accuracy = await store.validationAccuracy(c).catch(() => null);
    }
    const pinned = store.pinnedCheckpoint();
    rows.push({ name: c.name, step: c.step, savedAt: c.savedAt, latest: c.latest, default: pinned ? c.name === pinned : c.latest, validationAccuracy: accuracy });
  }
  return { modelDir: store.modelDir, model: store.modelName(), pinned: store.pinnedCheckpoint() ?? null, checkpoints: rows };
}

async function mistakes(store: ModelStore, url: URL) {
  const q = url.searchParams;
  const offset = optionalInt(q.get('offset'), 'offset', 0, 1e9) ?? 0;
  const limit = optionalInt(q.get('limit'), 'limit', 1, 200) ?? 48;
  const set = await store.mistakes(optionalCheckpoint(q.get('checkpoint')));
  const test = store.mnist().test;
  const page = set.wrong.slice(offset, offset + limit);
  const images = page.map((i) => Float32Array.from(test.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS), (v) => v / 255));
  const loaded = store.model(set.checkpoint);
  const predictions = predictDigits(loaded.model, images);
  return {
    checkpoint: set.checkpoint,
    step: set.step,
    accuracy: set.accuracy,
    testCount: set.testCount,
    total: set.wrong.length,
    offset,
    limit,
    items: page.map((index, k) => ({
      index,
      label: test.labels[index],
      prediction: set.predictions[index],
      confidence: predictions[k].probabilities[set.predictions[index]],
      probabilities: predictions[k].probabilities,
      pixels: Buffer.from(test.images.subarray(index * IMAGE_PIXELS, (index + 1) * IMAGE_PIXELS)).toString('base64'),
    })),
  };
}

function events(req: IncomingMessage, res: ServerResponse, feed: EventFeed, job: TrainJob, streams: Set<ServerResponse>): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  writeSse(res, 'job', job.status());
  for (const event of feed.events()) writeSse(res, 'train', event);
  writeSse(res, 'ready', { events: feed.events().length });
  const unsubscribe = feed.subscribe((event: FeedEvent) => writeSse(res, 'train', event));
  streams.add(res);
  const done = () => {
    unsubscribe();
    streams.delete(res);
  };
  req.on('close', done);
  res.on('error', done);
}

function writeSse(res: ServerResponse, event: string, data: unknown): void {
  if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * POST /api/train. `steps` is the total global step to reach, as for `mnist train --steps`
 * (default: 200 steps past the newest checkpoint). A resumed run keeps the recipe recorded in the
 * model directory (resolveRecipe, as the CLI does); the request's fields override it.
 */
function startTraining(store: ModelStore, feed: EventFeed, job: TrainJob, raw: unknown): JobStatus {
  const body = requireObject(raw);
  const known = new Set(['steps', 'batchSize', 'learningRate', 'model', 'fresh', 'checkpointEvery']);
  const unknown = Object.keys(body).filter((k) => !known.has(k));
  if (unknown.length) throw new HttpError(400, `unknown field "${unknown[0]}" (expected ${[...known].join(', ')})`);
  const steps = optionalInt(body.steps, 'steps', 1, MAX_PAGE_STEPS);
  const batchSize = optionalInt(body.batchSize, 'batchSize', 1, MAX_PAGE_BATCH);
  const learningRate = optionalNumber(body.learningRate, 'learningRate', 1e-9, 100);
  const checkpointEvery = optionalInt(body.checkpointEvery, 'checkpointEvery', 1, MAX_PAGE_STEPS);
  if (body.fresh !== undefined && typeof body.fresh !== 'boolean') throw new HttpError(400, '"fresh" must be true or false');
  if (body.model !== undefined && (typeof body.model !== 'string' || !modelNames().includes(body.model))) {
    throw new HttpError(400, `"model" must be one of ${modelNames().join(', ')}`);
  }
  const fresh = body.fresh === true;
  const existing = store.checkpoints();
  const model = (body.model as string | undefined) ?? store.modelName();
  if (!fresh && existing.length && model !== store.modelName()) {
    throw new HttpError(409, `${store.modelDir} holds a "${store.modelName()}" model; train "${model}" with "fresh": true or in another directory`);
  }
  if (job.running()) throw new HttpError(409, 'a training run started from this page is still going (stop it first)');
  if (foreignRunActive(feed)) throw new HttpError(409, `another training run (mnist train?) is writing to ${store.modelDir}`);

  const latest = existing.find((c) => c.latest) ?? existing.at(-1);
  const fromStep = fresh ? 0 : (latest?.step ?? 0);
  const toStep = steps ?? fromStep + 200;
  if (toStep <= fromStep) throw new HttpError(400, `"steps" is the total step to reach and the model is already at step ${fromStep}: ask for more than ${fromStep}`);
  if (toStep - fromStep > MAX_PAGE_NEW_STEPS) {
    throw new HttpError(400, `a run started from the page trains at most ${MAX_PAGE_NEW_STEPS} steps (from ${fromStep} to ${toStep} asked); use \`mnist train\` for longer runs`);
  }
  const recipe = resolveRecipe({ modelDir: store.modelDir, model, fresh, overrides: { batchSize, learningRate } });
  return job.start({
    ...recipeTrainOptions(recipe, store.modelDir),
    fresh,
    steps: toStep,
    checkpointEvery: checkpointEvery ?? Math.max(1, Math.ceil((toStep - fromStep) / 5)),
    logEvery: MAX_PAGE_STEPS,
  });
}

function foreignRunActive(feed: EventFeed): boolean {
  const all = feed.events();
  for (let i = all.length - 1; i >= 0; i--) {
    const e = all[i];
    if (e.type === 'validation' || e.type === 'reset') continue;
    return e.type !== 'end' && Date.now() - e.time < FOREIGN_RUN_QUIET_MS;
  }
  return false;
}

/**
 * Validation accuracy of each new checkpoint, one at a time off the request path, published on
 * the feed so the live chart gets a point per checkpoint.
 */
function validationQueue(store: ModelStore, feed: EventFeed, log: (line: string) => void) {
  const pending: string[] = [];
  let running = false;
  let stopped = false;
  const run = async () => {
    running = true;
    while (!stopped && pending.length) {
      const name = pending.shift()!;
      const entry = store.checkpoints().find((c) => c.name === name);
      if (!entry) continue; // deleted by the trainer (max_to_keep) before its turn
      try {
        const accuracy = await store.validationAccuracy(entry);
        if (!stopped) feed.publish({ type: 'validation', time: Date.now(), step: entry.step ?? 0, checkpoint: entry.name, accuracy });
      } catch (err) {
        if (!stopped && store.checkpoints().some((c) => c.name === name)) log(`mnist serve: validation of ${name}: ${(err as Error).message}`);
      }
    }
    running = false;
  };
  return {
    add(name: string) {
      if (stopped || pending.includes(name)) return;
      pending.push(name);
      if (!running) void run();
    },
    stop() {
      stopped = true;
    },
  };
}
