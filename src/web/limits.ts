import type { ServerOptions, ServerResponse } from 'node:http';
import { QueueFullError } from './decode-queue.js';

/** How long a client may take; a stalled upload is dropped instead of holding a socket. */
export interface ServerTimeouts {
  /** To send the request line and headers. */
  headersMs: number;
  /** To send the whole request, body included (a 1 MiB upload takes well under a second on loopback). */
  requestMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveMs: number;
}

export const SERVER_TIMEOUTS: ServerTimeouts = { headersMs: 10_000, requestMs: 15_000, keepAliveMs: 5_000 };

/** Options for `createServer`: the timeouts, checked every second (Node's default checks every 30 s). */
export function serverOptions(timeouts: Partial<ServerTimeouts> = {}): ServerOptions {
  const t = { ...SERVER_TIMEOUTS, ...timeouts };
  return {
    headersTimeout: Math.min(t.headersMs, t.requestMs),
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionsCheckingInterval: Math.min(1_000, t.headersMs),
  };
}

/** Runs a request handler; a full queue's 503 carries Retry-After. */
export async function withRetryAfter(res: ServerResponse, handler: () => Promise<void>): Promise<void> {
  try {
    await handler();
  } catch (err) {
    if (err instanceof QueueFullError && !res.headersSent) res.setHeader('Retry-After', String(err.retryAfter));
    throw err;
  }
}
