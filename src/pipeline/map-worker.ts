/**
 * Worker-thread entry for Dataset.mapParallel: imports the user's module once, then answers
 * `{id, value}` messages with `{id, ok, value}`; typed-array results are transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerReply } from './worker-pool.js';

const { moduleUrl, fnName } = workerData as { moduleUrl: string; fnName: string };
const mod = (await import(moduleUrl)) as Record<string, unknown>;
const fn = mod[fnName];
if (typeof fn !== 'function') throw new Error(`${moduleUrl}: no exported function ${fnName}`);

function transferables(value: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    // Only arrays that own their whole buffer (Node's pooled Buffers can't be transferred).
    if (b instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === b.byteLength && !Buffer.isBuffer(value) && !out.includes(b)) {
      out.push(b);
    }
  } else if (value && typeof value === 'object' && depth < 2) {
    for (const v of Object.values(value)) transferables(v, out, depth + 1);
  }
  return out;
}

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
