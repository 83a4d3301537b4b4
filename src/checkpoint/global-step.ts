import path from 'node:path';
import type { CheckpointReader } from './reader.js';
import type { Saver } from './saver.js';
import { int64Scalar, tensorsToCheckpoint, type SaveValue } from './tf-variables.js';

/** tf.train.get_global_step()'s variable, saved in every training checkpoint. */
export const GLOBAL_STEP = 'global_step';
/** The checkpoint prefix every trainer saves under: `<model dir>/model.ckpt-<step>`. */
export const CHECKPOINT_BASENAME = 'model.ckpt';

export function readGlobalStep(reader: CheckpointReader): number {
  if (!reader.has(GLOBAL_STEP)) return 0;
  return Number((reader.tensor(GLOBAL_STEP).data as BigInt64Array | Int32Array)[0]);
}

/** Saves a trainer's named tensors plus `global_step` as `<modelDir>/model.ckpt-<globalStep>`. */
export async function saveTrainingCheckpoint(saver: Saver, modelDir: string, named: Map<string, SaveValue>, globalStep: number, metaGraph?: Uint8Array): Promise<string> {
  const all = new Map(named);
  all.set(GLOBAL_STEP, int64Scalar(globalStep));
  return saver.save(path.join(modelDir, CHECKPOINT_BASENAME), await tensorsToCheckpoint(all), { globalStep, metaGraph });
}
