import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileError, UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { AugmentKind } from '../data/augment.js';
import type { TrainDefaults } from './config.js';

/** The hyper-parameters a run was started with, so a resumed run goes on with the same ones. */
export type TrainRecipe = Omit<Partial<TrainDefaults>, 'checkpointEvery' | 'logEvery' | 'validateEvery'> & { augment?: AugmentKind };

const RECIPE_KEYS = ['batchSize', 'steps', 'learningRate', 'decayRate', 'decaySteps', 'staircase', 'l2', 'ema', 'optimizer', 'momentum', 'seed', 'beta1', 'beta2', 'schedule', 'warmup'] as const;

/** The recipe of a run, to record in its model directory. */
export function recipeOf(config: TrainDefaults, augment: AugmentKind | undefined): TrainRecipe {
  const recipe: Record<string, unknown> = Object.fromEntries(RECIPE_KEYS.map((k) => [k, config[k]]));
  return { ...recipe, augment } as TrainRecipe;
}

/**
 * What a model directory was trained as, beside TensorFlow's own checkpoint files, so
 * `mnist eval/test/predict --model-dir DIR` rebuild the same network without extra flags.
 */
export interface ModelDirInfo {
  model: string;
  l2: number;
  ema: number;
  optimizer: string;
  createdBy: string;
  /** Absent in directories written before recipes were recorded. */
  recipe?: TrainRecipe;
}

export const INFO_FILE = 'mnist-ts.json';

export function readModelDirInfo(dir: string): ModelDirInfo | undefined {
  const file = path.join(dir, INFO_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as ModelDirInfo;
    if (typeof info.model !== 'string') throw new Error('no "model" field');
    return info;
  } catch (err) {
    throw fileError(file, `not a valid model description (${(err as Error).message})`);
  }
}

export async function writeModelDirInfo(dir: string, info: ModelDirInfo): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, INFO_FILE), JSON.stringify(info, null, 2) + '\n');
}

export function requireModelDir(dir: string): void {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such model directory (train one with \`mnist train --model-dir ${dir}\`)`);
}

/** The model a directory holds: the explicit flag wins, then the directory's record, then the MLP. */
export function resolveModelName(dir: string, flag?: string): string {
  return flag ?? readModelDirInfo(dir)?.model ?? 'mlp';
}

/**
 * The recipe to continue with when training resumes from a checkpoint in `dir`: the recorded one
 * (or, for directories written before recipes were recorded, only the optimizer, L2 and EMA they
 * hold, with `partial` set); nothing if the directory records another model or none.
 */
export function recordedRecipe(dir: string, model: string): { recipe: TrainRecipe; partial: boolean } | undefined {
  const info = readModelDirInfo(dir);
  if (!info || info.model !== model) return undefined;
  if (info.recipe) return { recipe: info.recipe, partial: false };
  return { recipe: { optimizer: info.optimizer as TrainDefaults['optimizer'], l2: info.l2, ema: info.ema }, partial: true };
}
