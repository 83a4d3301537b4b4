import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { CHECKPOINT_BASENAME, GLOBAL_STEP, readGlobalStep, saveTrainingCheckpoint } from '../checkpoint/global-step.js';
import { openForResume } from '../checkpoint/select.js';
import { deleteAllCheckpoints, latestCheckpoint, Saver } from '../checkpoint/saver.js';
import { restoreVariables } from '../checkpoint/tf-variables.js';
import { augmentBatches, type AugmentKind, type AugmentOptions } from '../data/augment.js';
import { BatchIterator, type Batch } from '../data/batches.js';
import type { MnistSplit } from '../data/mnist.js';
import { UserError } from '../errors.js';
import { Model } from '../models/model.js';
import { getModelDefinition } from '../models/registry.js';
import { l2Regularizer, regularizationLoss } from '../variables/regularizers.js';
import { learningRateAt, type TrainDefaults } from './config.js';
import { ExponentialMovingAverage } from './ema.js';
import { sparseSoftmaxCrossEntropy } from './loss.js';
import { appendEvent } from './events.js';
import { openRunEvents, SCALAR_TAGS } from './tensorboard.js';
import { readModelDirInfo, recipeOf, writeModelDirInfo } from './model-dir.js';
import { formatG } from '../util/format.js';
import { modelMetaGraph } from '../graph/model-metagraph.js';
import { createOptimizer, type Optimizer } from './optimizers.js';
import { ValidationWatch } from './validate.js';
import { formatMilestone, MilestoneTracker, type Milestone } from './milestones.js';
import { runSteps } from './loop.js';
import { wholeStepFor } from './whole-step.js';
import { foldedDecays, splitRegularization } from './regularization.js';

export interface TrainOptions extends TrainDefaults {
  model: string;
  modelDir: string;
  /** Start over even if the directory holds checkpoints (they are kept until overwritten). */
  fresh?: boolean;
  /** Stop early (Ctrl-C): the loop finishes its step, saves a checkpoint and returns. */
  shouldStop?: () => boolean;
  /** A source of batches other than the IDX training split (e.g. TFRecord files). */
  batches?: () => Batch | Promise<Batch>;
  /** Random distortions of every training batch (src/data/augment.ts); absent = none. */
  augment?: AugmentOptions;
  /** The preset `augment` came from, recorded in the model directory for resumed runs. */
  augmentKind?: AugmentKind;
  /** Validation images: with keepBest or patience, evaluated before every checkpoint (validate.ts). */
  validation?: MnistSplit;
  /** Keep the checkpoint with the best validation accuracy besides the newest ones. */
  keepBest?: boolean;
  /** Stop after this many evaluations without a better validation accuracy. */
  patience?: number;
  /**
   * The model's validation accuracy (a fraction), measured every `validateEvery` steps and at the
   * end; each accuracy milestone a measurement passes is logged with the training time it took.
   */
  validate?: (model: Model) => number;
}

export interface StepInfo {
  step: number;
  loss: number;
  learningRate: number;
}

export interface TrainReporter {
  start(fromStep: number, toStep: number): void;
  step(info: StepInfo): void;
  log(line: string): void;
  stop(): void;
}

export interface TrainResult {
  model: Model;
  ema?: ExponentialMovingAverage;
  globalStep: number;
  lastLoss: number;
  seconds: number;
  /** CPU time of the whole process (all threads) during the run: on a shared machine, the work done. */
  cpuSeconds: number;
  /** Part of `seconds` spent measuring validation accuracy. */
  validationSeconds: number;
  /** The accuracy milestones passed in this run (with `validate`). */
  milestones: Milestone[];
  /** The last validation accuracy measured, and at which step (with `validate`). */
  validation?: { accuracy: number; step: number };
  stepsRun: number;
  checkpoint: string;
  /** The run's TensorBoard event file (closed; more scalars may be appended); none when nothing was trained. */
  eventFile?: string;
}

/** How often a step sample goes to the event log (the web page's live charts). */
const EVENT_INTERVAL_MS = 250;

/** Everything a checkpoint of a training run holds, by TensorFlow name. */
export function trainingState(model: Model, ema: ExponentialMovingAverage | undefined, optimizer: Optimizer | undefined): Map<string, tf.Variable> {
  const state = new Map<string, tf.Variable>();
  for (const v of model.store.all()) state.set(v.name, v.variable);
  if (ema) for (const [name, s] of ema.namedShadows()) state.set(name, s);
  if (optimizer) for (const [name, s] of optimizer.slots()) state.set(name, s);
  return state;
}

/**
 * One optimizer step on a batch: loss = cross-entropy (against labels smoothed by `labelSmoothing`)
 * + the `losses` collection (L2), its gradients
 * for the trainable variables, applied at `learningRate`. Returns the loss (the caller disposes it).
 * `globalStep` (the step before this update) seeds the dropout masks, so a resumed run draws the same ones.
 *
 * An L2 term on a trainable variable stays off the gradient tape: the optimizer folds its gradient
 * λ·w into the update and measures its value λ·Σw²/2 in the same pass over the weights (instead of
 * a product, a sum and an L2Loss over them per step; the same arithmetic as TensorFlow's).
 *
 * Where the backend has a whole training step for the model's graph (whole-step.ts: a chain of
 * conv/dense layers, or the MLP with SGD, on native), that one call does it all instead of the tape.
 */
export function gradientStep(model: Model, optimizer: Optimizer, batch: Batch, learningRate: number, globalStep?: number, labelSmoothing = 0): tf.Scalar {
  const whole = wholeStepFor(model, optimizer, labelSmoothing);
  if (whole) return tf.scalar(whole.run(batch, learningRate, { globalStep }));
  const trainable = model.store.trainable();
  const { folded, onTape } = splitRegularization(model);
  return tf.tidy(() => {
    const xs = tf.tensor2d(batch.images, [batch.labels.length, batch.images.length / batch.labels.length]);
    const ys = tf.tensor1d(batch.labels, 'int32');
    const { value, grads } = tf.variableGrads(() => {
      let loss = sparseSoftmaxCrossEntropy(model.logits(xs, true, globalStep), ys, labelSmoothing);
      for (const v of onTape) loss = tf.add(loss, regularizationLoss(v.regularizer!, v.variable));
      return loss;
    }, trainable.map((v) => v.variable));
    const decays = foldedDecays(trainable, folded);
    const l2 = optimizer.apply(trainable, trainable.map((v) => grads[v.variable.name]), learningRate, decays);
    return tf.keep(folded.length > 0 ? tf.add(value, l2) : value);
  });
}

/**
 * gradientStep, then the moving average's update at num_updates = globalStep + 1: the training
 * loop's step. Returns the loss. A model that is a plain dense chain trained by SGD (the book's MLP)
 * runs it as one native call where the backend has it (src/backend/dense-step.ts): forward,
 * backward, update and moving average on the variables' own arrays, so they hold the new values
 * after every step, as on the tfjs path.
 */
export function trainingStep(model: Model, optimizer: Optimizer, ema: ExponentialMovingAverage | undefined, batch: Batch, learningRate: number, globalStep: number, labelSmoothing = 0): number {
  const whole = wholeStepFor(model, optimizer, labelSmoothing);
  // Shadows made on the first update start at the updated values (ema.apply's order): that one is not fused.
  if (whole?.fusesAverages && (!ema || whole.variables.every((v) => ema.shadows.has(v.name)))) {
    const averages = ema && { shadows: whole.variables.map((v) => ema.shadowOf(v)), oneMinusDecay: ema.oneMinusDecay(globalStep + 1) };
    return whole.run(batch, learningRate, { globalStep, averages });
  }
  const lossTensor = gradientStep(model, optimizer, batch, learningRate, globalStep, labelSmoothing);
  ema?.apply(model.store.trainable(), globalStep + 1);
  const loss = lossTensor.dataSync()[0];
  lossTensor.dispose();
  return loss;
}

/**
 * The checkpoint a run in `modelDir` goes on from: the newest one, or none when starting `fresh`
 * or on an empty directory. A directory that holds another model is an error.
 */
export function checkpointToResume(modelDir: string, model: string, fresh = false): string | null {
  const resumeFrom = fresh ? null : latestCheckpoint(modelDir);
  const recorded = resumeFrom ? readModelDirInfo(modelDir) : undefined;
  if (recorded && recorded.model !== model) {
    throw new UserError(`${modelDir}: holds a "${recorded.model}" model, not "${model}" (use another --model-dir, or --fresh)`);
  }
  return resumeFrom;
}

/**
 * mnist_train.py: batches of the training split, loss = cross-entropy + L2 (the `losses`
 * collection), exponentially decayed learning rate, EMA of the trainable variables with
 * num_updates = global step, a checkpoint every `checkpointEvery` steps, at the end and on stop.
 */
export async function train(opts: TrainOptions, data: MnistSplit | undefined, reporter: TrainReporter): Promise<TrainResult> {
  const definition = getModelDefinition(opts.model);
  const smoothing = opts.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1)) throw new UserError(`label smoothing must be in [0, 1), got ${smoothing}`);
  if ((opts.keepBest || opts.patience !== undefined) && opts.validation?.count === 0) {
    throw new UserError(`${opts.keepBest ? '--keep-best' : '--patience'} needs validation images: this run holds none out (validation size 0)`);
  }
  const resumeFrom = checkpointToResume(opts.modelDir, opts.model, opts.fresh);
  const model = Model.build(definition, { seed: opts.seed, regularizer: opts.l2 > 0 ? l2Regularizer(opts.l2) : undefined });
  const trainable = model.store.trainable();
  const optimizer = createOptimizer(opts.optimizer, { momentum: opts.momentum, beta1: opts.beta1, beta2: opts.beta2 });
  const ema = opts.ema > 0 ? new ExponentialMovingAverage(opts.ema) : undefined;
  // Shadows (starting at the initial values) and optimizer slots exist before a restore fills them.
  ema?.createShadows(trainable);
  optimizer.createSlots(trainable);

  let globalStep = 0;
  if (opts.fresh && (await deleteAllCheckpoints(opts.modelDir, CHECKPOINT_BASENAME)) > 0) {
    reporter.log(`Starting afresh: deleted the earlier run's checkpoints in ${opts.modelDir}.`);
  }
  if (resumeFrom) {
    const reader = openForResume(resumeFrom);
    restoreVariables(reader, Object.fromEntries(trainingState(model, ema, optimizer)));
    globalStep = readGlobalStep(reader);
    reporter.log(`Resuming from ${path.basename(resumeFrom)} at step ${globalStep}.`);
  }
  await writeModelDirInfo(opts.modelDir, {
    model: opts.model, l2: opts.l2, ema: opts.ema, optimizer: opts.optimizer, createdBy: 'mnist-ts',
    recipe: recipeOf(opts, opts.augmentKind),
  });

  const plainBatch = opts.batches ? skipping(opts.batches, globalStep) : batchSource(data, opts, globalStep);
  const nextBatch = opts.augment ? augmentBatches(plainBatch, opts.augment, opts.seed, globalStep) : plainBatch;
  const decaySteps = opts.decaySteps ?? Math.max(1, Math.floor((data?.count ?? 55000) / opts.batchSize));
  const saver = new Saver({ maxToKeep: 5 });
  const state = trainingState(model, ema, optimizer);
  // The graph does not change during a run: its MetaGraphDef is built once and written with every checkpoint.
  const metaGraph = modelMetaGraph(model, state, { globalStep: GLOBAL_STEP, maxToKeep: saver.maxToKeep });
  const watch = opts.validation && (opts.keepBest || opts.patience !== undefined)
    ? new ValidationWatch(
      { modelDir: opts.modelDir, validation: opts.validation, keepBest: Boolean(opts.keepBest), patience: opts.patience, fresh: opts.fresh, checkpointBase: CHECKPOINT_BASENAME, log: (l) => reporter.log(l) },
      model, ema, saver,
    )
    : undefined;
  let stopEarly: string | undefined;
  const cpuStarted = process.cpuUsage();
  // A run with nothing left to train adds no event file.
  const tensorboard = globalStep < opts.steps ? openRunEvents(opts.modelDir, metaGraph) : undefined;
  const milestones = new MilestoneTracker();
  let validation: TrainResult['validation'];
  let learningRate = NaN;

  reporter.start(globalStep, opts.steps);
  appendEvent(opts.modelDir, { type: 'start', time: Date.now(), model: opts.model, fromStep: globalStep, steps: opts.steps, batchSize: opts.batchSize });
  const run = await runSteps({
    fromStep: globalStep,
    toStep: opts.steps,
    step: async (step) => {
      const batch = await nextBatch();
      learningRate = learningRateAt(opts, step, decaySteps);
      return trainingStep(model, optimizer, ema, batch, learningRate, step, smoothing);
    },
    shouldStop: () => {
      const requested = opts.shouldStop?.() ?? false;
      if (stopEarly) reporter.log(stopEarly);
      return requested || stopEarly !== undefined;
    },
    afterStep: (step, loss) => reporter.step({ step, loss: loss!, learningRate }),
    sampleEveryMs: EVENT_INTERVAL_MS,
    sample: (step, loss, stepsPerSecond) => {
      const examplesPerSec = stepsPerSecond * opts.batchSize;
      appendEvent(opts.modelDir, { type: 'step', time: Date.now(), step, loss: loss!, learningRate, examplesPerSec });
      tensorboard?.addScalars(step, { [SCALAR_TAGS.loss]: loss!, [SCALAR_TAGS.learningRate]: learningRate, [SCALAR_TAGS.examplesPerSec]: examplesPerSec });
    },
    logEvery: opts.logEvery,
    log: (step, loss) => reporter.log(`After ${step} training step(s), loss on training batch is ${formatG(loss)}.`),
    checkpointEvery: opts.checkpointEvery,
    save: async (step) => {
      // A stop request (Ctrl-C) saves at once; that checkpoint is not evaluated.
      const verdict = opts.shouldStop?.() ? undefined : watch?.beforeSave(step);
      const written = await saveTrainingCheckpoint(saver, opts.modelDir, state, step, metaGraph);
      await watch?.afterSave();
      stopEarly ??= verdict?.stop;
      tensorboard?.flush();
      appendEvent(opts.modelDir, { type: 'checkpoint', time: Date.now(), step, checkpoint: path.basename(written) });
      return written;
    },
    evaluateEvery: opts.validateEvery ?? opts.checkpointEvery,
    evaluate: opts.validate && ((step, clock) => {
      const trainingSeconds = (clock.elapsedMs - clock.evaluatingMs) / 1000;
      validation = { accuracy: opts.validate!(model), step };
      for (const m of milestones.observe(validation.accuracy, step, trainingSeconds)) reporter.log(formatMilestone(m));
    }),
  });
  globalStep = run.step;
  reporter.stop();
  tensorboard?.close();
  appendEvent(opts.modelDir, { type: 'end', time: Date.now(), step: globalStep, seconds: run.elapsedMs / 1000 });
  optimizer.dispose();
  return {
    model,
    ema,
    globalStep,
    lastLoss: run.lastLoss,
    seconds: run.elapsedMs / 1000,
    cpuSeconds: cpuSecondsSince(cpuStarted),
    validationSeconds: run.evaluatingMs / 1000,
    milestones: milestones.reached,
    validation,
    stepsRun: run.stepsRun,
    checkpoint: run.checkpoint ?? resumeFrom ?? '',
    eventFile: tensorboard?.file,
  };
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

function batchSource(data: MnistSplit | undefined, opts: TrainOptions, globalStep: number): () => Batch {
  if (!data) throw new Error('no training data');
  const iterator = new BatchIterator(data, opts.batchSize, opts.seed);
  // Resuming continues the same data order from where the run stopped.
  iterator.skip(globalStep);
  return () => iterator.next();
}

/**
 * A batch source whose first `steps` batches are drawn and dropped before the first one is
 * served: a resumed run goes on where the stream of an uninterrupted run would be (the source
 * must be seeded, e.g. TFRecord shuffling).
 */
function skipping(next: () => Batch | Promise<Batch>, steps: number): () => Batch | Promise<Batch> {
  let toSkip = steps;
  return async () => {
    for (; toSkip > 0; toSkip--) await next();
    return next();
  };
}
