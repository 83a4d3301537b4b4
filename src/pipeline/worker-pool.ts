import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../util/worker.js';
import os from 'node:os';

/**
 * A fixed set of worker threads that each import `moduleUrl` and call its export `fnName` on the
 * values sent to them. Results come back in whatever order workers finish; callers keep order.
 */
export class WorkerPool<In, Out> {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ id: number; value: In }> = [];
  private readonly pending = new Map<number, { resolve: (v: Out) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  constructor(moduleUrl: string | URL, fnName: string, size = Math.max(1, os.availableParallelism() - 1)) {
    const url = String(moduleUrl);
    for (let i = 0; i < size; i++) {
      const w = startModuleWorker(import.meta.url, 'map-worker', { moduleUrl: url, fnName });
      w.on('message', (m: WorkerReply<Out>) => this.onReply(w, m));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`map worker exited with code ${code}`));
      });
      w.unref();
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  run(value: In): Promise<Out> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    const id = this.nextId++;
    const p = new Promise<Out>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.queue.push({ id, value });
    this.dispatch();
    return p;
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const task = this.queue.shift()!;
      w.ref(); // keep the process alive while a worker owes us a result
      w.postMessage(task);
    }
  }

  private onReply(w: Worker, m: WorkerReply<Out>): void {
    const p = this.pending.get(m.id);
    this.pending.delete(m.id);
    w.unref();
    this.idle.push(w);
    if (p) {
      if (m.ok) p.resolve(m.value as Out);
      else p.reject(Object.assign(new Error(m.error!.message), { name: m.error!.name }));
    }
    this.dispatch();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A terminating worker doesn't keep the event loop alive (even ref'd), and an awaited promise
    // alone doesn't either: without this timer the process could end mid-close.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await Promise.all(this.workers.map((w) => w.terminate()));
    } finally {
      clearInterval(keepAlive);
    }
  }
}

export interface WorkerReply<Out> {
  id: number;
  ok: boolean;
  value?: Out;
  error?: { name: string; message: string };
}
