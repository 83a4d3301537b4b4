/**
 * Runs an async iterable in a worker thread and streams its items to this thread: the input
 * pipeline (reading, parsing, shuffling, batching) then overlaps with the work done on the items —
 * the role of the book's queue runners. `moduleUrl`'s export `fnName(args)` must return an
 * (async) iterable of structured-cloneable items; typed arrays in items are transferred.
 * Flow control: the worker stays at most `prefetch` items ahead.
 */
import type { Worker } from 'node:worker_threads';
import { UserError } from '../errors.js';
import { spawnWorker, terminateWorker } from './worker-pool.js';

export interface BackgroundMessage {
  type: 'item' | 'done' | 'error';
  value?: unknown;
  error?: { name: string; message: string; userError: boolean };
}

export async function* iterateInBackground<T>(moduleUrl: string | URL, fnName: string, args: unknown, opts: { prefetch?: number } = {}): AsyncGenerator<T> {
  const prefetch = Math.max(1, opts.prefetch ?? 4);
  const worker: Worker = spawnWorker('background-worker', { moduleUrl: String(moduleUrl), fnName, args });
  const inbox: BackgroundMessage[] = [];
  let wake: (() => void) | undefined;
  const deliver = (m: BackgroundMessage) => {
    inbox.push(m);
    wake?.();
  };
  worker.on('message', deliver);
  worker.on('error', (e) => deliver({ type: 'error', error: { name: e.name, message: e.message, userError: false } }));
  worker.on('exit', (code) => deliver({ type: 'error', error: { name: 'Error', message: `background worker exited with code ${code}`, userError: false } }));
  try {
    worker.postMessage(prefetch); // credit: items it may send before we ask again
    for (;;) {
      while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      const m = inbox.shift()!;
      if (m.type === 'done') return;
      if (m.type === 'error') {
        const e = m.error!;
        throw e.userError ? new UserError(e.message) : Object.assign(new Error(e.message), { name: e.name });
      }
      worker.postMessage(1);
      yield m.value as T;
    }
  } finally {
    worker.removeAllListeners('exit');
    await terminateWorker(worker);
  }
}
