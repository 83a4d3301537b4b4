import { AUGMENT_PRESETS, type AugmentKind } from '../data/augment.js';
import { getModelDefinition } from '../models/registry.js';
import { BOOK_DEFAULTS, type TrainDefaults } from './config.js';
import { readModelDirInfo, recordedRecipe, refuseTransferModelDir } from './model-dir.js';
import { checkpointToResume, type TrainOptions } from './train.js';

export interface RecipeRequest {
  modelDir: string;
  /** The model asked for; absent = the directory's, else the MLP. */
  model?: string;
  fresh?: boolean;
  /** Hyper-parameters given explicitly (flags, a page's request); undefined fields are not given. */
  overrides?: Partial<TrainDefaults>;
  /** true/false = asked for / refused explicitly; a kind = that kind; undefined = as recorded. */
  augment?: AugmentKind | boolean;
}

export interface ResolvedRecipe {
  model: string;
  config: TrainDefaults;
  augment: AugmentKind | undefined;
  /** The checkpoint training resumes from; null for a fresh start. */
  resumeFrom: string | null;
  /** How the recipe was carried over from the directory, when it was. */
  carried?: 'recorded' | 'partial';
}

/**
 * The one place a training recipe is decided, for `mnist train`, the web page and the API:
 * the book's defaults ← the model's defaults ← the recipe recorded in the model directory (when
 * resuming) ← explicit overrides. Refuses a directory that holds another model (unless fresh).
 */
export function resolveRecipe(request: RecipeRequest): ResolvedRecipe {
  refuseTransferModelDir(request.modelDir);
  const model = request.model ?? readModelDirInfo(request.modelDir)?.model ?? 'mlp';
  const definition = getModelDefinition(model);
  const resumeFrom = checkpointToResume(request.modelDir, model, request.fresh);
  const carried = resumeFrom ? recordedRecipe(request.modelDir, model) : undefined;
  const { augment: recordedAugment, ...recorded } = carried?.recipe ?? {};
  const config: TrainDefaults = { ...BOOK_DEFAULTS, ...definition.defaults, ...definedOnly(recorded), ...definedOnly(request.overrides ?? {}) };
  // A fresh run takes the model's augmentation; a resumed one keeps what its recipe recorded.
  const defaultAugment = carried ? recordedAugment : definition.augment;
  const augment = request.augment === false ? undefined : request.augment === true ? 'affine' : (request.augment ?? defaultAugment);
  return { model, config, augment, resumeFrom, carried: carried ? (carried.partial ? 'partial' : 'recorded') : undefined };
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A resolved recipe as `train()`'s options: hyper-parameters, model, directory and the augmentation preset with its name. */
export function recipeTrainOptions(recipe: ResolvedRecipe, modelDir: string): TrainOptions {
  return {
    ...recipe.config,
    model: recipe.model,
    modelDir,
    augment: recipe.augment ? AUGMENT_PRESETS[recipe.augment] : undefined,
    augmentKind: recipe.augment,
  };
}
