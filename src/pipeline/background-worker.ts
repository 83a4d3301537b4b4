/** Worker side of iterateInBackground: iterate the user's iterable, send items as credit allows. */
import { parentPort, workerData } from 'node:worker_threads';
import { transferables } from './transfer.js';
import { UserError } from '../errors.js';
import type { BackgroundMessage } from './background.js';

const { moduleUrl, fnName, args } = workerData as { moduleUrl: string; fnName: string; args: unknown };
const port = parentPort!;
let credit = 0;
let wake: (() => void) | undefined;
port.on('message', (n: number) => {
  credit += n;
  wake?.();
});

try {
  const mod = (await import(moduleUrl)) as Record<string, unknown>;
  const fn = mod[fnName];
  if (typeof fn !== 'function') throw new Error(`${moduleUrl}: no exported function ${fnName}`);
  for await (const value of (await fn(args)) as AsyncIterable<unknown>) {
    while (credit === 0) await new Promise<void>((r) => (wake = r));
    credit--;
    port.postMessage({ type: 'item', value } satisfies BackgroundMessage, transferables(value));
  }
  port.postMessage({ type: 'done' } satisfies BackgroundMessage);
} catch (e) {
  const err = e as Error;
  port.postMessage({ type: 'error', error: { name: err?.name ?? 'Error', message: err?.message ?? String(e), userError: e instanceof UserError } } satisfies BackgroundMessage);
}
