/**
 * Worker-thread entry for Dataset.mapParallel: imports the user's module once, then answers
 * `{id, value}` messages with `{id, ok, value}`; typed-array results are transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { transferables } from './transfer.js';
import type { WorkerReply } from './worker-pool.js';

const { moduleUrl, fnName } = workerData as { moduleUrl: string; fnName: string };
const mod = (await import(moduleUrl)) as Record<string, unknown>;
const fn = mod[fnName];
if (typeof fn !== 'function') throw new Error(`${moduleUrl}: no exported function ${fnName}`);

parentPort!.on('message', async ({ id, value }: { id: number; value: unknown }) => {
  let reply: WorkerReply<unknown>;
  try {
    const result = await (fn as (v: unknown) => unknown)(value);
    reply = { id, ok: true, value: result };
    parentPort!.postMessage(reply, transferables(result));
  } catch (e) {
    const err = e as Error;
    reply = { id, ok: false, error: { name: err?.name ?? 'Error', message: err?.message ?? String(e) } };
    parentPort!.postMessage(reply);
  }
});
