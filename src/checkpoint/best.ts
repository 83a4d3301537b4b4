/**
 * Keeping the best checkpoint and stopping early (`mnist train --keep-best --patience N`, what Keras
 * calls ModelCheckpoint(save_best_only) and EarlyStopping): the validation accuracy of each
 * checkpoint is compared with the best so far; the best one is preserved by the Saver besides the
 * newest ones, and `best-checkpoint.json` records it so a resumed run knows what to beat.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { indexFileName } from '../formats/bundle.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export const BEST_FILE = 'best-checkpoint.json';

export interface BestRecord {
  /** The checkpoint's name in the model directory, e.g. `model.ckpt-3000`. */
  checkpoint: string;
  step: number;
  /** Validation accuracy (moving averages when the run keeps them). */
  accuracy: number;
}

export interface Verdict {
  improved: boolean;
  /** Set when the run should stop: the line that says why. */
  stop?: string;
}

export interface BestTrackerOptions {
  modelDir: string;
  /** Stop after this many evaluations without improvement; undefined = never. */
  patience?: number;
  /** Ignore an earlier run's record (the run starts afresh). */
  fresh?: boolean;
}

/**
 * The best validation accuracy of a run and how long ago it was reached. An improvement is a
 * strictly higher accuracy (as Keras's EarlyStopping with min_delta 0).
 */
export class BestTracker {
  private bestSoFar: BestRecord | undefined;
  private sinceBest = 0;
  /** Why an earlier record was not taken over, for the run's log. */
  readonly ignoredRecord: string | undefined;

  constructor(private readonly opts: BestTrackerOptions) {
    if (opts.fresh) return;
    const { record, problem } = readBestRecord(opts.modelDir);
    this.bestSoFar = record;
    this.ignoredRecord = problem;
  }

  get best(): BestRecord | undefined {
    return this.bestSoFar;
  }

  /** The best checkpoint's prefix (for Saver.preserve), or null before the first evaluation. */
  bestPrefix(): string | null {
    return this.bestSoFar ? path.join(this.opts.modelDir, this.bestSoFar.checkpoint) : null;
  }

  /** Takes the validation accuracy of the checkpoint about to be saved at `step` as `checkpoint`. */
  observe(step: number, checkpoint: string, accuracy: number): Verdict {
    if (this.bestSoFar === undefined || accuracy > this.bestSoFar.accuracy) {
      this.bestSoFar = { checkpoint, step, accuracy };
      this.sinceBest = 0;
      return { improved: true };
    }
    this.sinceBest++;
    const { patience } = this.opts;
    if (patience !== undefined && this.sinceBest >= patience) {
      const b = this.bestSoFar;
      const times = `${patience} evaluation${patience === 1 ? '' : 's'}`;
      return { improved: false, stop: `Stopping early: validation accuracy has not improved for ${times} (best ${b.accuracy.toFixed(4)} at step ${b.step}, ${b.checkpoint}).` };
    }
    return { improved: false };
  }

  /** Writes the record (after the best checkpoint is saved, so it never names a missing one). */
  async save(): Promise<void> {
    if (this.bestSoFar) await writeFileAtomic(path.join(this.opts.modelDir, BEST_FILE), JSON.stringify(this.bestSoFar, null, 2) + '\n');
  }
}

/**
 * An earlier run's record, if it is readable and its checkpoint still exists; otherwise no record
 * and, when there was a file, why it was not used (a damaged or stale record never stops training).
 */
export function readBestRecord(modelDir: string): { record?: BestRecord; problem?: string } {
  const file = path.join(modelDir, BEST_FILE);
  if (!existsSync(file)) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { problem: `${file}: not valid JSON; starting a new best` };
  }
  const r = value as Partial<BestRecord> | null;
  const valid =
    r !== null && typeof r === 'object' && typeof r.checkpoint === 'string' && /^[\w.-]+$/.test(r.checkpoint) &&
    Number.isSafeInteger(r.step) && typeof r.accuracy === 'number' && r.accuracy >= 0 && r.accuracy <= 1;
  if (!valid) return { problem: `${file}: not a best-checkpoint record; starting a new best` };
  const record = r as BestRecord;
  if (!existsSync(indexFileName(path.join(modelDir, record.checkpoint)))) {
    return { problem: `${file}: names ${record.checkpoint}, which is gone; starting a new best` };
  }
  return { record };
}
