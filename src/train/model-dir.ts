import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileError, quoted, UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readFileOrFail } from '../util/read-file.js';
import { jsonKind, parseJsonText } from '../util/json-text.js';
import type { AugmentKind } from '../data/augment.js';
import type { TrainDefaults } from './config.js';
import { TRANSFER_INFO_FILE } from '../transfer/model-dir.js';

/** The hyper-parameters a run was started with, so a resumed run goes on with the same ones. */
export type TrainRecipe = Omit<Partial<TrainDefaults>, 'checkpointEvery' | 'logEvery' | 'validateEvery'> & { augment?: AugmentKind };

const RECIPE_KEYS = ['batchSize', 'steps', 'learningRate', 'decayRate', 'decaySteps', 'staircase', 'l2', 'ema', 'optimizer', 'momentum', 'seed', 'beta1', 'beta2', 'schedule', 'warmup', 'labelSmoothing', 'validationSize'] as const;

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
  return parseModelDirInfo(readFileOrFail(file, 'a model description').toString('utf8'), file);
}

const RECIPE_TYPES: Record<string, 'number' | 'boolean' | 'string'> = {
  batchSize: 'number', steps: 'number', learningRate: 'number', decayRate: 'number', decaySteps: 'number', staircase: 'boolean',
  l2: 'number', ema: 'number', optimizer: 'string', momentum: 'number', seed: 'number', augment: 'string',
  beta1: 'number', beta2: 'number', schedule: 'string', warmup: 'number', labelSmoothing: 'number', validationSize: 'number',
};

/** The contents of `mnist-ts.json`, checked field by field; `file` names it in errors. */
export function parseModelDirInfo(text: string, file: string): ModelDirInfo {
  const bad = (problem: string): never => {
    throw fileError(file, `not a valid model description: ${problem}`);
  };
  let info: Record<string, unknown>;
  try {
    info = parseJsonText(text, file) as Record<string, unknown>;
  } catch (err) {
    return bad((err as Error).message.slice(file.length + 2));
  }
  if (!info || typeof info !== 'object' || Array.isArray(info)) return bad('not a JSON object');
  const check = (value: unknown, type: string, name: string): void => {
    if (value === undefined) return;
    const ok = type === 'number' ? typeof value === 'number' && Number.isFinite(value) : typeof value === type;
    if (!ok) bad(`"${name}" should be a ${type}, not ${jsonKind(value)}`);
  };
  if (typeof info.model !== 'string') bad('no "model" field');
  if (!/^[A-Za-z0-9][\w.-]*$/.test(info.model as string)) bad(`${quoted(info.model as string)} is not a model name`);
  check(info.l2, 'number', 'l2');
  check(info.ema, 'number', 'ema');
  check(info.optimizer, 'string', 'optimizer');
  check(info.createdBy, 'string', 'createdBy');
  if (info.recipe !== undefined) {
    const recipe = info.recipe as Record<string, unknown>;
    if (!recipe || typeof recipe !== 'object' || Array.isArray(recipe)) bad('"recipe" should be an object');
    for (const [key, type] of Object.entries(RECIPE_TYPES)) check(recipe[key], type, `recipe.${key}`);
  }
  return info as unknown as ModelDirInfo;
}

export async function writeModelDirInfo(dir: string, info: ModelDirInfo): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, INFO_FILE), JSON.stringify(info, null, 2) + '\n');
}

export function requireModelDir(dir: string): void {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such model directory (train one with \`mnist train --model-dir ${dir}\`)`);
  refuseTransferModelDir(dir);
}

/**
 * A directory written by `mnist transfer` holds a new final layer over a frozen graph, not one of
 * the registry's MNIST models: say so in one line, with the commands that fit it.
 */
export function refuseTransferModelDir(dir: string): void {
  if (!existsSync(path.join(dir, TRANSFER_INFO_FILE))) return;
  throw new UserError(
    `${dir}: a transfer-learning model (from \`mnist transfer\`: a final layer over ${path.join(dir, 'graph.pb')}), not an MNIST model of this command; ` +
      `predict with \`mnist predict --model-dir ${dir} IMAGE…\`, retrain with \`mnist transfer\``,
  );
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
