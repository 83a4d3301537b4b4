import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { CheckpointReader } from '../checkpoint/reader.js';
import { latestCheckpoint, Saver } from '../checkpoint/saver.js';
import { readGlobalStep, saveTrainingCheckpoint } from '../checkpoint/global-step.js';
import { restoreVariables, type SaveValue } from '../checkpoint/tf-variables.js';
import { float32Repr } from '../util/float32-repr.js';
import { runSteps } from '../train/loop.js';
import { createOptimizer, type Optimizer } from '../train/optimizers.js';
import { bookSineData, ShuffledBatches, SINE_BOOK, type SineData, type WindowedData } from './sine-data.js';
import { SineModel, type SineLayout } from './sine-model.js';

export const LEARNING_RATE = 'model/OptimizeLoss/learning_rate';

export interface SineOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  hiddenSize: number;
  numLayers: number;
  shuffleBuffer: number;
  layout: SineLayout;
  seed: number;
  /** Log line every N steps (the book: 1000). */
  logEvery: number;
  /** Where checkpoints go (`DIR/model.ckpt-N`); none written when undefined. */
  modelDir?: string;
  /** Checkpoint every N steps, and at the end; 0 = only at the end. */
  checkpointEvery: number;
}

export const SINE_DEFAULTS: SineOptions = {
  steps: SINE_BOOK.trainingSteps,
  batchSize: SINE_BOOK.batchSize,
  learningRate: SINE_BOOK.learningRate,
  hiddenSize: SINE_BOOK.hiddenSize,
  numLayers: SINE_BOOK.numLayers,
  shuffleBuffer: SINE_BOOK.shuffleBuffer,
  layout: 'book',
  seed: 1,
  logEvery: 1000,
  checkpointEvery: 1000,
};

export interface SineReporter {
  /** The book's log lines (`step:0 | loss:0.41758543`) and checkpoint notes. */
  log(line: string): void;
  /** Called after every step (progress bars). */
  step?(step: number, total: number): void;
}

export interface SineEvaluation {
  rmse: number;
  predictions: Float32Array;
  labels: Float32Array;
}

export interface SineRunResult extends SineEvaluation {
  /** [step, loss on that step's batch before its update], every logEvery steps. */
  losses: Array<[number, number]>;
  trainMs: number;
  checkpoint?: string;
}

/** How a training run starts and stops, beside its hyper-parameters. */
export interface SineTrainControl {
  /**
   * Go on from the newest checkpoint in `modelDir` (variables, Adagrad slots, global step) when
   * there is one; the run then ends exactly as an uninterrupted one would.
   */
  resume?: boolean;
  /** Checked before every step: true stops the run there, with a checkpoint. */
  shouldStop?: () => boolean;
}

/** Creates the book's model with these options (variables initialised, not trained). */
export function createSineModel(opts: Pick<SineOptions, 'hiddenSize' | 'numLayers' | 'layout' | 'seed'>): SineModel {
  return new SineModel({ hiddenSize: opts.hiddenSize, numLayers: opts.numLayers, timeSteps: SINE_BOOK.timeSteps, layout: opts.layout, seed: opts.seed });
}

/**
 * The book's train(): Adagrad(0.1) on the mean squared error of batches drawn from
 * dataset.repeat().shuffle(1000).batch(32), one step per batch, the loss printed every 1000 steps.
 */
export async function trainSine(
  model: SineModel,
  data: WindowedData,
  opts: SineOptions,
  reporter: SineReporter,
  control: SineTrainControl = {},
): Promise<{ losses: Array<[number, number]>; trainMs: number; checkpoint?: string; firstStep: number; globalStep: number }> {
  const trainable = model.store.trainable();
  const varList = trainable.map((v) => v.variable);
  const optimizer = createOptimizer('adagrad');
  optimizer.createSlots(trainable);
  const resumeFrom = control.resume && opts.modelDir ? latestCheckpoint(opts.modelDir) : null;
  let firstStep = 0;
  if (resumeFrom) {
    const reader = CheckpointReader.open(resumeFrom);
    restoreVariables(reader, new Map([...model.variables(), ...optimizer.slots()]));
    firstStep = readGlobalStep(reader);
    reporter.log(`Resuming from ${path.basename(resumeFrom)} at step ${firstStep}.`);
  }
  const batches = new ShuffledBatches(data, opts.batchSize, opts.shuffleBuffer, opts.seed);
  // The shuffle buffer's state at step k is that of k batches drawn from the seed.
  batches.skip(firstStep);
  const saver = opts.modelDir ? new Saver() : undefined;
  const modelDir = opts.modelDir;
  const losses: Array<[number, number]> = [];
  try {
    const run = await runSteps({
      fromStep: firstStep,
      toStep: opts.steps,
      step: (_step, logging) => {
        const { x, y } = batches.next();
        return tf.tidy(() => {
          const xs = tf.tensor1d(x);
          const ys = tf.tensor1d(y);
          const { value, grads } = tf.variableGrads(() => model.loss(xs, ys), varList);
          optimizer.apply(trainable, trainable.map((v) => grads[v.variable.name]), opts.learningRate);
          return logging ? value.dataSync()[0] : undefined;
        });
      },
      shouldStop: control.shouldStop,
      afterStep: reporter.step && ((step) => reporter.step!(step, opts.steps)),
      logEvery: opts.logEvery,
      logAt: 'start',
      log: (step, loss) => {
        // The book numbers a step by its batch, from 0: the loss of the first batch is `step:0`.
        losses.push([step - 1, loss]);
        reporter.log(`step:${step - 1} | loss:${float32Repr(loss)}`);
      },
      checkpointEvery: opts.checkpointEvery,
      save: saver && modelDir ? (step) => saveSineCheckpoint(saver, modelDir, model, { optimizer, learningRate: opts.learningRate }, step) : undefined,
    });
    return { losses, trainMs: run.trainMs, checkpoint: run.checkpoint ?? resumeFrom ?? undefined, firstStep, globalStep: run.step };
  } finally {
    optimizer.dispose();
  }
}

/**
 * The book's run_eval(): predictions for every test window (the book feeds them one at a time;
 * one batch gives the same numbers) and the root mean square error against the real values.
 */
export function evaluateSine(model: SineModel, test: WindowedData): SineEvaluation {
  const predictions = tf.tidy(() => model.predict(tf.tensor1d(test.x)).dataSync() as Float32Array);
  let sum = 0;
  for (let i = 0; i < test.count; i++) sum += (predictions[i] - test.y[i]) ** 2;
  return { rmse: Math.sqrt(sum / test.count), predictions, labels: test.y };
}

/** The whole experiment: data, training, test RMSE. */
export async function runSineExperiment(opts: SineOptions, reporter: SineReporter, data: SineData = bookSineData()): Promise<SineRunResult> {
  const model = createSineModel(opts);
  try {
    const trained = await trainSine(model, data.train, opts, reporter);
    const evaluation = evaluateSine(model, data.test);
    reporter.log(`Root Mean Square Error: ${evaluation.rmse.toFixed(6)}`);
    return { ...trained, ...evaluation };
  } finally {
    model.dispose();
  }
}

/** What a sine checkpoint holds beside the model: the Adagrad optimizer's slots and its learning rate. */
export interface SineTrainingState {
  optimizer: Optimizer;
  learningRate: number;
}

/**
 * Everything a checkpoint of a sine run holds, by TensorFlow name: the variables, their Adagrad
 * slots and `model/OptimizeLoss/learning_rate` (the variable the book's optimize_loss creates), plus
 * our `global_step` (the book's graph has none: tf.train.get_global_step() returns None there).
 */
export async function saveSineCheckpoint(saver: Saver, modelDir: string, model: SineModel, training: SineTrainingState | undefined, globalStep: number): Promise<string> {
  const named = new Map<string, SaveValue>(model.variables());
  if (training) {
    for (const [name, slot] of training.optimizer.slots()) named.set(name, slot);
    named.set(LEARNING_RATE, { dtype: 'float32', shape: [], data: Float32Array.of(training.learningRate) });
  }
  return saveTrainingCheckpoint(saver, modelDir, named, globalStep);
}

/** Loads the model's variables from a checkpoint (prefix, file or directory → latest); returns its global step. */
export function restoreSineModel(model: SineModel, prefixOrDir: string): { checkpoint: string; globalStep: number } {
  const reader = CheckpointReader.open(prefixOrDir);
  restoreVariables(reader, model.variables());
  return { checkpoint: reader.prefix, globalStep: readGlobalStep(reader) };
}
