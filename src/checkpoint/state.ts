/**
 * The `checkpoint` state file of a checkpoint directory: which checkpoints exist, which is newest.
 * Paths in the file may be relative to the directory (what we write) or absolute (what TensorFlow
 * 1.x writes by default); the functions here return them resolved against the directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { indexFileName } from '../formats/bundle.js';
import {
  CHECKPOINT_STATE_FILE,
  formatCheckpointState,
  parseCheckpointState,
  type CheckpointState,
} from '../formats/checkpoint-state.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readFailure } from '../util/read-file.js';

export type { CheckpointState };

export function checkpointStatePath(dir: string): string {
  return path.join(dir, CHECKPOINT_STATE_FILE);
}

function resolveIn(dir: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(dir, p);
}

/** The directory's checkpoint state with paths resolved against `dir`, or null without a state file. */
export function getCheckpointState(dir: string): CheckpointState | null {
  const file = checkpointStatePath(dir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw readFailure(file, err, 'a checkpoint state file');
  }
  const state = parseCheckpointState(text, file);
  return {
    ...state,
    modelCheckpointPath: resolveIn(dir, state.modelCheckpointPath),
    allModelCheckpointPaths: state.allModelCheckpointPaths.map((p) => resolveIn(dir, p)),
  };
}

/** The newest checkpoint's prefix in `dir` (e.g. `runs/mlp/model.ckpt-1000`), or null if there is none. */
export function latestCheckpoint(dir: string): string | null {
  const state = getCheckpointState(dir);
  if (!state) return null;
  return existsSync(indexFileName(state.modelCheckpointPath)) ? state.modelCheckpointPath : null;
}

/**
 * Replaces the state file atomically. Paths inside `dir` are written relative to it (so the
 * directory can be moved), others absolute.
 */
export async function writeCheckpointState(dir: string, newest: string, all: string[]): Promise<void> {
  const rel = (p: string): string => {
    const r = path.relative(path.resolve(dir), path.resolve(p));
    return r.startsWith('..') || path.isAbsolute(r) ? path.resolve(p) : r;
  };
  const text = formatCheckpointState({ modelCheckpointPath: rel(newest), allModelCheckpointPaths: all.map(rel) });
  await writeFileAtomic(checkpointStatePath(dir), text);
}
