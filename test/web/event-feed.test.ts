import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { EventFeed, type FeedEvent } from '../../src/web/event-feed.js';

test('EventFeed follows appends line by line, waits for half-written lines, resets on truncation', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-feed-'));
  try {
    const file = path.join(dir, 'events.jsonl');
    const feed = new EventFeed(dir);
    const seen: FeedEvent[] = [];
    feed.subscribe((e) => seen.push(e));
    feed.poll(); // no file yet
    assert.equal(seen.length, 0);

    const start = { type: 'start', time: 1, model: 'mlp', fromStep: 0, steps: 10, batchSize: 100 };
    const step = { type: 'step', time: 2, step: 1, loss: 2.3, learningRate: 0.8, examplesPerSec: 1000 };
    const line = JSON.stringify(step);
    writeFileSync(file, JSON.stringify(start) + '\n' + line.slice(0, 20));
    feed.poll();
    assert.deepEqual(seen, [start]);
    appendFileSync(file, line.slice(20) + '\nnot json\n\n' + '{"type":"end","time":3,"step":1,"seconds":0.5}\n');
    feed.poll();
    assert.deepEqual(seen.map((e) => e.type), ['start', 'step', 'end']);
    assert.deepEqual(seen[1], step);

    feed.publish({ type: 'validation', time: 4, step: 1, checkpoint: 'model.ckpt-1', accuracy: 0.9 });
    assert.equal(feed.events().length, 4);

    writeFileSync(file, JSON.stringify(start) + '\n'); // a fresh run replaced the file: shorter than what we read
    feed.poll();
    assert.deepEqual(seen.slice(4).map((e) => e.type), ['reset', 'start']);
    assert.deepEqual(feed.events().map((e) => e.type), ['reset', 'start']);
    feed.poll();
    assert.equal(seen.length, 6, 'nothing new, nothing repeated');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
