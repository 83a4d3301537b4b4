import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { EVENTS_FILE, type TrainEvent } from '../train/events.js';

/** What the page's live view receives: the trainer's own events plus what the server adds. */
export type FeedEvent =
  | TrainEvent
  /** Validation accuracy of a checkpoint (with EMA weights when it has them), computed by the server. */
  | { type: 'validation'; time: number; step: number; checkpoint: string; accuracy: number }
  /** The events file was truncated or replaced: forget what came before. */
  | { type: 'reset'; time: number };

export interface EventFeedOptions {
  pollMs?: number;
  /** Events kept for clients that connect later. */
  maxHistory?: number;
}

/**
 * Follows `DIR/events.jsonl` as `mnist train` (or a run started from the page) appends to it,
 * by polling its size: fs.watch misses appends on some file systems and renames. Complete lines
 * only; a half-written last line waits for the next poll.
 */
export class EventFeed {
  readonly file: string;
  private offset = 0;
  private partial: Buffer = Buffer.alloc(0);
  private readonly history: FeedEvent[] = [];
  private readonly listeners = new Set<(event: FeedEvent) => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly pollMs: number;
  private readonly maxHistory: number;

  constructor(modelDir: string, opts: EventFeedOptions = {}) {
    this.file = path.join(modelDir, EVENTS_FILE);
    this.pollMs = opts.pollMs ?? 200;
    this.maxHistory = opts.maxHistory ?? 5000;
  }

  start(): void {
    this.poll();
    this.timer ??= setInterval(() => this.poll(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Events so far (the newest `maxHistory`), oldest first. */
  events(): readonly FeedEvent[] {
    return this.history;
  }

  subscribe(listener: (event: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds an event of the server's own to the feed. */
  publish(event: FeedEvent): void {
    this.history.push(event);
    if (this.history.length > this.maxHistory) this.history.splice(0, this.history.length - this.maxHistory);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // one broken client must not stop the others
      }
    }
  }

  /** Reads whatever was appended since the last poll. */
  poll(): void {
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      size = 0;
    }
    if (size < this.offset) {
      this.offset = 0;
      this.partial = Buffer.alloc(0);
      this.history.length = 0;
      this.publish({ type: 'reset', time: Date.now() });
    }
    if (size === this.offset) return;
    const chunk = Buffer.alloc(size - this.offset);
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return;
    }
    try {
      const n = readSync(fd, chunk, 0, chunk.length, this.offset);
      this.offset += n;
      this.take(chunk.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }

  private take(chunk: Buffer): void {
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    let newline: number;
    while ((newline = data.indexOf(10)) >= 0) {
      const line = data.subarray(0, newline).toString('utf8').trim();
      data = data.subarray(newline + 1);
      if (!line) continue;
      const event = parseEvent(line);
      if (event) this.publish(event);
    }
    this.partial = Buffer.from(data);
  }
}

function parseEvent(line: string): TrainEvent | undefined {
  try {
    const value = JSON.parse(line) as TrainEvent;
    return value && typeof value === 'object' && typeof value.type === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
