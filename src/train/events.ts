import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A training run's event log, `DIR/events.jsonl`: one JSON object per line, appended as training
 * goes (start, a step sample every few steps, each checkpoint, the end). The web page and other
 * tools follow it; a reader ignores a last line that is still being written.
 */
export type TrainEvent =
  | { type: 'start'; time: number; model: string; fromStep: number; steps: number; batchSize: number }
  | { type: 'step'; time: number; step: number; loss: number; learningRate: number; examplesPerSec: number }
  | { type: 'checkpoint'; time: number; step: number; checkpoint: string }
  | { type: 'end'; time: number; step: number; seconds: number };

export const EVENTS_FILE = 'events.jsonl';

export function appendEvent(dir: string, event: TrainEvent): void {
  appendFileSync(path.join(dir, EVENTS_FILE), JSON.stringify(event) + '\n');
}

export function readEvents(dir: string): TrainEvent[] {
  const file = path.join(dir, EVENTS_FILE);
  if (!existsSync(file)) return [];
  const events: TrainEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as TrainEvent);
    } catch {
      // a line still being written
    }
  }
  return events;
}
