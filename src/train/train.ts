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
import { GraphKeys, type VariableEntry } from '../variables/store.js';
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
import { wholeStepFor } from './whole-step.js';

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

export async function saveCheckpoint(saver: Saver, modelDir: string, state: Map<string, tf.Variable>, globalStep: number, metaGraph?: Uint8Array): Promise<string> {
  return saveTrainingCheckpoint(saver, modelDir, state, globalStep, metaGraph);
}

/**
 * One optimizer step on a batch: loss = cross-entropy + the `losses` collection (L2), its gradients
 * for the trainable variables, applied at `learningRate`. Returns the loss (the caller disposes it).
 * `globalStep` (the step before this update) seeds the dropout masks, so a resumed run draws the same ones.
 *
 * An L2 term on a trainable variable stays off the gradient tape: the optimizer folds its gradient
 * λ·w into the update and measures its value λ·Σw²/2 in the same pass over the weights (instead of
 * a product, a sum and an L2Loss over them per step; the same arithmetic as TensorFlow's).
 *
 * Where the backend has a whole training step for the model's graph (whole-step.ts: fast-cnn with
 * Adam on native), that one call does it all instead of the gradient tape.
 */
export function gradientStep(model: Model, optimizer: Optimizer, batch: Batch, learningRate: number, globalStep?: number): tf.Scalar {
  const whole = wholeStepFor(model, optimizer);
  if (whole) return whole(batch, learningRate);
  const trainable = model.store.trainable();
  const { folded, onTape } = splitRegularization(model);
  return tf.tidy(() => {
    const xs = tf.tensor2d(batch.images, [batch.labels.length, batch.images.length / batch.labels.length]);
    const ys = tf.tensor1d(batch.labels, 'int32');
    const { value, grads } = tf.variableGrads(() => {
      let loss = sparseSoftmaxCrossEntropy(model.logits(xs, true, globalStep), ys);
      for (const v of onTape) loss = tf.add(loss, regularizationLoss(v.regularizer!, v.variable));
      return loss;
    }, trainable.map((v) => v.variable));
    const decays = trainable.map((t) => folded.reduce((sum, v) => (v === t ? sum + v.regularizer!.scale : sum), 0));
    const l2 = optimizer.apply(trainable, trainable.map((v) => grads[v.variable.name]), learningRate, decays);
    return tf.keep(folded.length > 0 ? tf.add(value, l2) : value);
  });
}

/** The `losses` collection split into L2 terms on trainable variables (folded into the update) and the rest. */
function splitRegularization(model: Model): { folded: VariableEntry[]; onTape: VariableEntry[] } {
  const folded: VariableEntry[] = [];
  const onTape: VariableEntry[] = [];
  for (const v of model.store.getCollection<VariableEntry>(GraphKeys.REGULARIZATION_LOSSES)) {
    (v.regularizer?.kind === 'l2' && v.trainable ? folded : onTape).push(v);
  }
  return { folded, onTape };
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
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const firstStep = globalStep;
  let lastLoss = NaN;
  let checkpoint = resumeFrom ?? '';
  // A run with nothing left to train adds no event file.
  const tensorboard = globalStep < opts.steps ? openRunEvents(opts.modelDir, metaGraph) : undefined;
  const checkpointNow = async () => {
    // A stop request (Ctrl-C) saves at once; that checkpoint is not evaluated.
    const verdict = opts.shouldStop?.() ? undefined : watch?.beforeSave(globalStep);
    const written = await saveCheckpoint(saver, opts.modelDir, state, globalStep, metaGraph);
    await watch?.afterSave();
    stopEarly ??= verdict?.stop;
    tensorboard?.flush();
    appendEvent(opts.modelDir, { type: 'checkpoint', time: Date.now(), step: globalStep, checkpoint: path.basename(written) });
    return written;
  };

  const milestones = new MilestoneTracker();
  const validateEvery = opts.validate ? (opts.validateEvery ?? opts.checkpointEvery) : 0;
  let validatingMs = 0;
  let validation: TrainResult['validation'];
  const validateNow = (validate: (model: Model) => number) => {
    const t0 = performance.now();
    const trainingSeconds = (t0 - started - validatingMs) / 1000;
    validation = { accuracy: validate(model), step: globalStep };
    validatingMs += performance.now() - t0;
    for (const m of milestones.observe(validation.accuracy, globalStep, trainingSeconds)) reporter.log(formatMilestone(m));
  };

  reporter.start(globalStep, opts.steps);
  appendEvent(opts.modelDir, { type: 'start', time: Date.now(), model: opts.model, fromStep: globalStep, steps: opts.steps, batchSize: opts.batchSize });
  let sampleTime = performance.now();
  let sampleStep = globalStep;
  while (globalStep < opts.steps && !opts.shouldStop?.() && !stopEarly) {
    const batch = await nextBatch();
    const learningRate = learningRateAt(opts, globalStep, decaySteps);
    const lossTensor = gradientStep(model, optimizer, batch, learningRate, globalStep);
    globalStep++;
    ema?.apply(trainable, globalStep);
    lastLoss = (await lossTensor.data())[0];
    lossTensor.dispose();
    reporter.step({ step: globalStep, loss: lastLoss, learningRate });
    const now = performance.now();
    if (now - sampleTime >= EVENT_INTERVAL_MS || globalStep === opts.steps) {
      const examplesPerSec = ((globalStep - sampleStep) * opts.batchSize * 1000) / Math.max(now - sampleTime, 1e-6);
      appendEvent(opts.modelDir, { type: 'step', time: Date.now(), step: globalStep, loss: lastLoss, learningRate, examplesPerSec });
      tensorboard?.addScalars(globalStep, { [SCALAR_TAGS.loss]: lastLoss, [SCALAR_TAGS.learningRate]: learningRate, [SCALAR_TAGS.examplesPerSec]: examplesPerSec });
      sampleTime = now;
      sampleStep = globalStep;
    }
    if (globalStep % opts.logEvery === 0) reporter.log(`After ${globalStep} training step(s), loss on training batch is ${formatG(lastLoss)}.`);
    if (globalStep % opts.checkpointEvery === 0) checkpoint = await checkpointNow();
    if (opts.validate && validateEvery > 0 && globalStep % validateEvery === 0) validateNow(opts.validate);
    // Every step so far awaited only settled promises; let the event loop run so Ctrl-C is seen.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (globalStep > firstStep && !checkpoint.endsWith(`-${globalStep}`)) checkpoint = await checkpointNow();
  if (stopEarly && globalStep < opts.steps) reporter.log(stopEarly);
  if (opts.validate && globalStep > firstStep && validation?.step !== globalStep) validateNow(opts.validate);
  reporter.stop();
  tensorboard?.close();
  appendEvent(opts.modelDir, { type: 'end', time: Date.now(), step: globalStep, seconds: (performance.now() - started) / 1000 });
  optimizer.dispose();
  return {
    model,
    ema,
    globalStep,
    lastLoss,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: cpuSecondsSince(cpuStarted),
    validationSeconds: validatingMs / 1000,
    milestones: milestones.reached,
    validation,
    stepsRun: globalStep - firstStep,
    checkpoint,
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
