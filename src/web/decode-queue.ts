import { availableParallelism } from 'node:os';
import { HttpError } from './http.js';

/** Seconds a client is told to wait (Retry-After) when the queue is full. */
export const RETRY_AFTER_S = 1;

/** A 503 whose reply carries a Retry-After header. */
export class QueueFullError extends HttpError {
  readonly retryAfter = RETRY_AFTER_S;
  constructor(message: string) {
    super(503, message);
  }
}

/**
 * One decode at a time on a 2-core machine (the other core keeps answering small requests), two
 * on bigger ones. Each 4096² decode holds ~30 MiB; two at a time measured +80 MiB peak RSS over a
 * burst, one at a time +26 MiB.
 */
export const DEFAULT_CONCURRENCY = Math.max(1, Math.min(2, Math.floor(availableParallelism() / 2)));

export interface DecodeQueueOptions {
  /** Decodes running at once (each one takes a CPU core for a big image). */
  concurrency?: number;
  /** Decodes waiting for a turn; one more is refused with a 503 at once. */
  maxWaiting?: number;
}

/**
 * Bounds the work done for uploaded images: at most `concurrency` tasks run at once, at most
 * `maxWaiting` wait in order, and the rest are refused straight away, so a flood of big uploads
 * cannot pile up memory or starve other requests.
 */
export class DecodeQueue {
  readonly concurrency: number;
  readonly maxWaiting: number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(opts: DecodeQueueOptions = {}) {
    this.concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
    this.maxWaiting = opts.maxWaiting ?? 16;
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new QueueFullError(`server busy: ${this.active} images are being decoded and ${this.waiting.length} are waiting; try again in a moment`);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next();
      else this.active--;
    }
  }
}
