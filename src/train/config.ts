export type OptimizerName = 'sgd' | 'momentum' | 'adam';

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
  /** L2 regularisation rate on weights (TensorFlow's l2_regularizer scale); 0 disables it. */
  l2: number;
  /** Moving-average decay; 0 disables the EMA. */
  ema: number;
  optimizer: OptimizerName;
  momentum: number;
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

/** tf.train.exponential_decay. */
export function exponentialDecay(base: number, step: number, decaySteps: number, rate: number, staircase: boolean): number {
  const p = step / decaySteps;
  return base * Math.pow(rate, staircase ? Math.floor(p) : p);
}
