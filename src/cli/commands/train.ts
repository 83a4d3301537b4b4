import { Command, CommanderError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { AUGMENT_KINDS, type AugmentKind } from '../../data/augment.js';
import type { Batch } from '../../data/batches.js';
import { loadMnist } from '../../data/mnist.js';
import { mnistTFRecordBatches } from '../../pipeline/mnist-tfrecord.js';
import { getModelDefinition, modelNames } from '../../models/registry.js';
import { evaluate } from '../../eval/evaluate.js';
import { SCHEDULES, type OptimizerName, type ScheduleName, type TrainDefaults } from '../../train/config.js';
import { recipeTrainOptions, resolveRecipe } from '../../train/recipe.js';
import { train, type TrainReporter } from '../../train/train.js';
import { UserError } from '../../errors.js';
import { appendScalars, SCALAR_TAGS } from '../../train/tensorboard.js';
import { onStopSignals, signalExitCode } from '../stop-signals.js';
import { addBackendOption, addDataOptions, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, unitFraction, useBackend, type BackendFlag } from '../options.js';

interface TrainFlags {
  model?: string;
  modelDir: string;
  dataDir?: string;
  limit?: number;
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  decayRate?: number;
  decaySteps?: number;
  schedule?: ScheduleName;
  warmup?: number;
  l2?: number;
  ema?: number;
  optimizer?: OptimizerName;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  labelSmoothing?: number;
  validationSize?: number;
  checkpointEvery?: number;
  validateEvery?: number;
  logEvery?: number;
  seed?: number;
  fresh?: boolean;
  keepBest?: boolean;
  patience?: number;
  augment?: AugmentKind | boolean;
  tfrecords?: string;
  backend?: BackendFlag;
  progress?: boolean;
}

/** Every option of `mnist train`, on `cmd`: the CLI's command, and the bench's parser of the same flags. */
function withTrainOptions(cmd: Command): Command {
  cmd
    .option('-m, --model <name>', `model: ${modelNames().join(', ')} (default: the model directory's, else mlp)`)
    .option('-d, --model-dir <dir>', 'where checkpoints go; a directory with checkpoints is resumed with its recorded recipe', 'runs/mlp')
    .option('--steps <n>', 'total training steps (global step to reach)', positiveInt)
    .option('--batch-size <n>', 'examples per step', positiveInt)
    .option('--learning-rate <x>', 'base learning rate', positiveNumber)
    .option('--decay-rate <x>', 'learning-rate decay factor per decay period (1 = none)', positiveNumber)
    .option('--decay-steps <n>', 'steps per decay period (default: one epoch)', positiveInt)
    .addOption(new Option('--schedule <name>', "learning-rate schedule: exponential (the book's decay) or one-cycle (linear warm-up, then linear decay to 0 at the last step)").choices(SCHEDULES))
    .option('--warmup <x>', "one-cycle: the warm-up's share of the steps (default 0.2)", unitFraction)
    .option('--l2 <x>', 'L2 regularisation rate on weights (0 = off)', nonNegativeNumber)
    .option('--ema <x>', 'moving-average decay (0 = off)', nonNegativeNumber)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'momentum', 'adam']))
    .option('--momentum <x>', 'momentum for --optimizer momentum', nonNegativeNumber)
    .option('--beta1 <x>', "Adam's β1 (default 0.9)", unitFraction)
    .option('--beta2 <x>', "Adam's β2 (default 0.999)", unitFraction)
    .option('--label-smoothing <x>', 'train against (1 − x)·one-hot + x/10 instead of the one-hot labels (0 = off, the book\'s)', unitFraction)
    .option('--validation-size <n>', 'training images held out for validation, the first ones (read_data_sets\'s validation_size; default 5000); 0 = train on all 60,000, no validation accuracy', nonNegativeInt)
    .option('--checkpoint-every <n>', 'save a checkpoint every N steps', positiveInt)
    .option('--validate-every <n>', 'measure validation accuracy every N steps, reporting each accuracy milestone passed (default: at each checkpoint; 0 = only at the end)', nonNegativeInt)
    .option('--log-every <n>', 'print the loss every N steps', positiveInt)
    .option('--seed <n>', 'seed for initial weights and batch order', nonNegativeInt)
    .option('--fresh', 'start from scratch: delete the model directory\'s checkpoints first')
    .option('--keep-best', 'also keep the checkpoint with the best validation accuracy (evaluated at every checkpoint), listed in the "checkpoint" file')
    .option('--patience <n>', 'stop when validation accuracy (evaluated at every checkpoint) has not improved for N evaluations', positiveInt)
    .addOption(new Option('--augment [kind]', 'distort training batches: affine (shift ±2 px, rotate ±12°, scale ±10%; the default), light (±2 px, ±6°, ±5%) or elastic (affine + elastic distortion)').choices(AUGMENT_KINDS))
    .option('--no-augment', 'no distortions (when resuming a run that had them)')
    .option('--tfrecords <pattern>', "train from the book's TFRecord files (e.g. 'data/data.tfrecords-*', see `mnist tfrecord write`)")
    .option('--no-progress', 'no live progress bar, only log lines');
  addDataOptions(cmd, 'training');
  return addBackendOption(cmd);
}

/**
 * `mnist train` flags (as after `mnist train`) read exactly as the CLI reads them, as
 * resolveRecipe's overrides and augmentation request: the bench's PyTorch twin follows the
 * recipe a `mnist train` with these flags resolves. A flag the CLI would refuse is a UserError.
 */
export function parseTrainFlags(args: string[]): { overrides: Partial<TrainDefaults>; augment?: AugmentKind | boolean } {
  const cmd = withTrainOptions(new Command('train'))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    cmd.parse(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new UserError(`mnist train flags: ${error.message.replace(/^error: /, '')}`);
    throw error;
  }
  const flags = cmd.opts<TrainFlags>();
  return { overrides: definedOnly(flags), augment: flags.augment };
}

export function register(program: Command): void {
  const cmd = withTrainOptions(
    program.command('train').description("train a model with the book's recipe (mnist_train.py): decayed learning rate, L2, moving averages, checkpoints"),
  );
  cmd.addHelpText(
    'after',
    `
Defaults are the book's: batch 100, 30,000 steps, learning rate 0.8 ×0.99 per epoch, L2 1e-4, EMA 0.99
(each model may change some; see README). Ctrl-C, SIGTERM and SIGHUP (a closed terminal) stop after
the current step, save a checkpoint and exit with 128 + the signal's number (130, 143, 129).
Training in a directory that holds checkpoints resumes them with the recipe recorded there
(mnist-ts.json: model, learning rate and decay, optimizer, L2, EMA, label smoothing, batch size,
steps, seed, augmentation, validation size); flags given again override it.

Examples:
  mnist train                                   # the book's MLP, into runs/mlp
  mnist train --steps 2000 --model-dir runs/quick
  mnist train --model softmax --model-dir runs/softmax
  mnist tfrecord write --split train --shards 2 -o data && mnist train --tfrecords 'data/data.tfrecords-*'
  mnist train --optimizer adam --learning-rate 0.001 --decay-rate 1 --fresh
  mnist train --model deep-cnn --model-dir runs/deep-cnn          # the Deep MNIST tutorial CNN
  mnist train --model fast-cnn --model-dir runs/fast-cnn          # ≈99 % in 1.25 epochs (one-cycle Adam)
  mnist train --model book-cnn --augment elastic --model-dir runs/book-cnn-aug
  mnist train --keep-best --patience 5          # keep the best checkpoint, stop after 5 checkpoints without a better one
  mnist train --model vgg-cnn --validation-size 0 --model-dir runs/vgg60k   # train on all 60,000 images`,
  );
  cmd.action(async (flags: TrainFlags) => {
    const backend = await useBackend(flags.backend);
    const recipe = resolveRecipe({ modelDir: flags.modelDir, model: flags.model, fresh: flags.fresh, overrides: definedOnly(flags), augment: flags.augment });
    const { model: modelName, config, augment: augmentKind } = recipe;
    const definition = getModelDefinition(modelName);
    if (recipe.carried === 'partial') {
      console.error(`Resuming with: ${describeRecipe(config, augmentKind)} (${flags.modelDir} records only the optimizer, L2 and EMA; the rest is the model's defaults and your flags)`);
    } else if (recipe.carried) {
      console.error(`Resuming with the recorded recipe: ${describeRecipe(config, augmentKind)}`);
    }
    const data = loadMnist({ dataDir: flags.dataDir, limit: flags.limit, validationSize: config.validationSize });
    if (data.validation.count === 0 && flags.validateEvery) {
      throw new UserError('--validate-every needs validation images: this run holds none out (--validation-size 0)');
    }
    const batches = flags.tfrecords ? await tfrecordBatches(flags.tfrecords, config) : undefined;
    let stopRequested = false;
    const signals = onStopSignals((signal) => {
      stopRequested = true;
      const again = signal === 'SIGINT' ? 'Ctrl-C again' : `${signal} again`;
      console.error(`\nStopping after this step and saving a checkpoint (${signal}; ${again} to quit at once)…`);
    });
    const source = flags.tfrecords ? `records of ${flags.tfrecords}` : `${data.train.count} images`;
    console.error(`Training ${definition.name} on ${source} (backend ${backend}) → ${flags.modelDir}`);
    try {
      const result = await train(
        {
          ...recipeTrainOptions(recipe, flags.modelDir), fresh: flags.fresh, shouldStop: () => stopRequested, batches,
          validation: data.validation, keepBest: flags.keepBest, patience: flags.patience,
          validate: data.validation.count > 0 ? (model) => evaluate(model, data.validation).accuracy : undefined,
        },
        data.train,
        reporter(config.batchSize, flags.progress !== false && Boolean(process.stderr.isTTY)),
      );
      const validation = data.validation.count === 0 ? undefined
        : result.validation?.step === result.globalStep ? result.validation : evaluate(result.model, data.validation);
      if (result.eventFile && validation) appendScalars(result.eventFile, result.globalStep, { [SCALAR_TAGS.validationAccuracy]: validation.accuracy });
      const trainingSeconds = result.seconds - result.validationSeconds;
      const rate = result.stepsRun / Math.max(trainingSeconds, 1e-9);
      const validating = result.validationSeconds > 0 ? ` + ${result.validationSeconds.toFixed(1)} s validating` : '';
      const done = result.stepsRun > 0
        ? `Trained to step ${result.globalStep} in ${trainingSeconds.toFixed(1)} s${validating} (${rate.toFixed(1)} steps/s; ${result.cpuSeconds.toFixed(1)} s CPU)`
        : `Nothing to train: already at step ${result.globalStep} (${stepsSource(flags.steps, config.steps, recipe.carried !== undefined)})`;
      const measured = validation ? `validation accuracy (raw weights) = ${validation.accuracy.toFixed(4)}` : 'no validation images held out';
      console.log(`${done}; ${measured}; checkpoint ${result.checkpoint}`);
      result.model.dispose();
      result.ema?.dispose();
    } finally {
      signals.dispose();
    }
    // Stopped by a signal: the checkpoint is saved; the exit status still says how the run ended.
    if (signals.signal) process.exitCode = signalExitCode(signals.signal);
  });
}

/**
 * Batches from TFRecord shards: every record is read and CRC-checked once (55,000 MNIST records are
 * ≈47 MB), then shuffled through a seeded 10,000-example buffer each epoch, endlessly.
 */
async function tfrecordBatches(pattern: string, config: TrainDefaults): Promise<() => Batch> {
  const stream = await mnistTFRecordBatches(pattern, { batchSize: config.batchSize, seed: config.seed });
  return () => stream.next()!;
}

function stepsSource(flag: number | undefined, total: number, resumed: boolean): string {
  if (flag !== undefined) return `--steps ${flag} is the total, not a count to add`;
  const from = resumed ? "the recorded recipe's" : "the model's default";
  return `${from} total is ${total} steps; train further with --steps N, a total greater than ${total}`;
}

function describeRecipe(c: TrainDefaults, augment: AugmentKind | undefined): string {
  const decay = c.schedule === 'one-cycle' ? `one-cycle (warm-up ${c.warmup ?? 0.2})`
    : c.decayRate === 1 ? 'no decay' : `×${c.decayRate} per ${c.decaySteps ?? 'epoch'}${c.decaySteps ? ' steps' : ''}`;
  const optimizer = c.optimizer === 'momentum' ? `momentum ${c.momentum}`
    : c.optimizer === 'adam' && (c.beta1 !== undefined || c.beta2 !== undefined) ? `adam β=(${c.beta1 ?? 0.9}, ${c.beta2 ?? 0.999})` : c.optimizer;
  return `${optimizer}, learning rate ${c.learningRate} ${decay}, batch ${c.batchSize}, L2 ${c.l2}, EMA ${c.ema}, to step ${c.steps}, seed ${c.seed}`
    + (c.labelSmoothing ? `, label smoothing ${c.labelSmoothing}` : '') + (augment ? `, augment ${augment}` : '')
    + (c.validationSize !== undefined ? `, validation size ${c.validationSize}` : '');
}

function definedOnly(flags: TrainFlags): Partial<TrainDefaults> {
  const keys: Array<keyof TrainDefaults> = [
    'steps', 'batchSize', 'learningRate', 'decayRate', 'decaySteps', 'schedule', 'warmup', 'l2', 'ema', 'optimizer', 'momentum', 'beta1', 'beta2', 'labelSmoothing', 'validationSize', 'checkpointEvery', 'validateEvery', 'logEvery', 'seed',
  ];
  const out: Record<string, unknown> = {};
  for (const k of keys) if ((flags as unknown as Record<string, unknown>)[k] !== undefined) out[k] = (flags as unknown as Record<string, unknown>)[k];
  return out as Partial<TrainDefaults>;
}

/** A live bar on a terminal; the book's log lines otherwise (and always for the log lines). */
function reporter(batchSize: number, live: boolean): TrainReporter {
  const bars = live
    ? new cliProgress.MultiBar(
        { format: 'step {value}/{total} |{bar}| loss {loss} | lr {lr} | {eps} ex/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 200, stream: process.stderr, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let bar: cliProgress.SingleBar | undefined;
  let last = performance.now();
  let lastStep = 0;
  let eps = 0;
  return {
    start(from, to) {
      bar = bars?.create(to, from, { loss: '-', lr: '-', eps: '-' });
      lastStep = from;
    },
    step({ step, loss, learningRate }) {
      if (!bar) return;
      const now = performance.now();
      if (now - last > 500) {
        eps = ((step - lastStep) * batchSize * 1000) / (now - last);
        last = now;
        lastStep = step;
      }
      bar.update(step, { loss: loss.toFixed(4), lr: learningRate.toPrecision(3), eps: eps ? Math.round(eps) : '-' });
    },
    log(line) {
      if (bars) bars.log(line + '\n');
      else console.log(line);
    },
    stop() {
      bars?.stop();
    },
  };
}
