export type OptimizerName = 'sgd' | 'momentum' | 'adam' | 'adagrad';
export type ScheduleName = 'exponential' | 'one-cycle';
export const SCHEDULES: ScheduleName[] = ['exponential', 'one-cycle'];

/** Hyper-parameters with the book's defaults (mnist_train.py); every one has a CLI flag. */
export interface TrainDefaults {
  batchSize: number;
  steps: number;
  learningRate: number;
  /** Learning rate ×decayRate every decaySteps steps (staircase); 1 disables decay. */
  decayRate: number;
  /** Default: one epoch, i.e. training examples / batch size (55000/100 = 550). */
  decaySteps?: number;
  staircase: boolean;
  /**
   * 'exponential' (the book's: decayRate per decaySteps) or 'one-cycle': a linear warm-up from
   * learningRate/25 to learningRate over the first `warmup` fraction of the steps, then a linear
   * decay to 0 at the last step. Absent = exponential.
   */
  schedule?: ScheduleName;
  /** The one-cycle warm-up's share of the steps (default 0.2). */
  warmup?: number;
  /** L2 regularisation rate on weights (TensorFlow's l2_regularizer scale); 0 disables it. */
  l2: number;
  /** Moving-average decay; 0 disables the EMA. */
  ema: number;
  optimizer: OptimizerName;
  momentum: number;
  /** Adam's β1 and β2 (default TensorFlow's 0.9 and 0.999). */
  beta1?: number;
  beta2?: number;
  /** Label smoothing ε: the loss's targets are (1 − ε)·one-hot + ε/10 (default 0, the book's one-hot). */
  labelSmoothing?: number;
  /**
   * Training images held out for validation, the first ones of the file (read_data_sets's
   * `validation_size`): default 5,000; 0 trains on all 60,000 and measures no validation accuracy.
   */
  validationSize?: number;
  checkpointEvery: number;
  /** Measure validation accuracy every N steps (default: at each checkpoint); 0 = only at the end. */
  validateEvery?: number;
  logEvery: number;
  seed: number;
}

export const BOOK_DEFAULTS: TrainDefaults = {
  batchSize: 100,
  steps: 30000,
  learningRate: 0.8,
  decayRate: 0.99,
  staircase: true,
  l2: 1e-4,
  ema: 0.99,
  optimizer: 'sgd',
  momentum: 0.9,
  checkpointEvery: 1000,
  logEvery: 1000,
  seed: 1,
};

/** The learning rate of step `step` (0-based) of a run to `steps`, under the config's schedule. */
export function learningRateAt(c: Pick<TrainDefaults, 'learningRate' | 'decayRate' | 'staircase' | 'schedule' | 'warmup' | 'steps'>, step: number, decaySteps: number): number {
  if (c.schedule !== 'one-cycle') return exponentialDecay(c.learningRate, step, decaySteps, c.decayRate, c.staircase);
  const peak = Math.max(1, Math.round((c.warmup ?? 0.2) * c.steps));
  if (step < peak) return c.learningRate * (1 / 25 + (1 - 1 / 25) * (step / peak));
  return c.learningRate * Math.max(0, (c.steps - step) / Math.max(1, c.steps - peak));
}

/** tf.train.exponential_decay. */
export function exponentialDecay(base: number, step: number, decaySteps: number, rate: number, staircase: boolean): number {
  const p = step / decaySteps;
  return base * Math.pow(rate, staircase ? Math.floor(p) : p);
}
