/**
 * Validation during training, for `--keep-best` and `--patience`: before each checkpoint is saved
 * the model is evaluated on the validation split (with the moving averages in place of the
 * weights when the run keeps them, as `mnist eval` and `mnist test` use it), the best checkpoint
 * is preserved by the Saver, and a run that stopped improving is told to stop.
 */
import * as tf from '@tensorflow/tfjs';
import { BestTracker, type Verdict } from '../checkpoint/best.js';
import type { Saver } from '../checkpoint/saver.js';
import type { MnistSplit } from '../data/mnist.js';
import { evaluate } from '../eval/evaluate.js';
import type { Model } from '../models/model.js';
import type { ExponentialMovingAverage } from './ema.js';

export interface ValidationWatchOptions {
  modelDir: string;
  checkpointBase: string;
  validation: MnistSplit;
  keepBest: boolean;
  patience?: number;
  fresh?: boolean;
  log: (line: string) => void;
}

export class ValidationWatch {
  private readonly tracker: BestTracker;

  constructor(
    private readonly opts: ValidationWatchOptions,
    private readonly model: Model,
    private readonly ema: ExponentialMovingAverage | undefined,
    private readonly saver: Saver,
  ) {
    this.tracker = new BestTracker({ modelDir: opts.modelDir, patience: opts.patience, fresh: opts.fresh });
    if (this.tracker.ignoredRecord) opts.log(this.tracker.ignoredRecord);
    const best = this.tracker.best;
    if (best) opts.log(`Best so far: ${best.checkpoint}, validation accuracy ${best.accuracy.toFixed(4)}.`);
    if (opts.keepBest) saver.preserve(this.tracker.bestPrefix());
  }

  /** Evaluates the model as it is at `step`, just before its checkpoint is saved. */
  beforeSave(step: number): Verdict {
    const accuracy = withAverages(this.model, this.ema, () => evaluate(this.model, this.opts.validation).accuracy);
    const verdict = this.tracker.observe(step, `${this.opts.checkpointBase}-${step}`, accuracy);
    this.opts.log(`After ${step} training step(s), validation accuracy = ${accuracy.toFixed(4)}${verdict.improved ? ' (best so far)' : ''}`);
    if (this.opts.keepBest) this.saver.preserve(this.tracker.bestPrefix());
    return verdict;
  }

  /** Records the best checkpoint once its files are written. */
  async afterSave(): Promise<void> {
    await this.tracker.save();
  }
}

/** Runs `fn` with each averaged variable holding its moving average, then puts the weights back. */
function withAverages<T>(model: Model, ema: ExponentialMovingAverage | undefined, fn: () => T): T {
  const swapped = ema ? model.store.trainable().filter((v) => ema.shadows.has(v.name)) : [];
  const saved = swapped.map((v) => tf.clone(v.variable));
  try {
    swapped.forEach((v) => v.variable.assign(ema!.shadows.get(v.name)!));
    return fn();
  } finally {
    swapped.forEach((v, i) => v.variable.assign(saved[i]));
    saved.forEach((t) => t.dispose());
  }
}
