/**
 * Which checkpoint of a model directory a command uses (`--checkpoint N|PREFIX`, else the newest
 * the state file names), opened with every tensor's checksum verified: a checkpoint is reported
 * damaged when any of its bytes are, not only those of the tensors the command reads. A damaged
 * checkpoint is never replaced by another silently; the error names the newest intact one.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { indexFileName } from '../formats/bundle.js';
import { CHECKPOINT_BASENAME } from './global-step.js';
import { CheckpointReader } from './reader.js';
import { getCheckpointState } from './state.js';

export interface OpenedCheckpoint {
  prefix: string;
  reader: CheckpointReader;
}

/** Global steps of the `model.ckpt-N` checkpoints in `dir` that have an index file, ascending. */
export function checkpointSteps(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const steps: number[] = [];
  for (const name of names) {
    const m = /^model\.ckpt-(\d+)\.index$/.exec(name);
    if (m) steps.push(Number(m[1]));
  }
  return steps.sort((a, b) => a - b);
}

/** "available steps: 100, 200, 300" (the newest 20 when there are more), or that there are none. */
export function describeAvailable(dir: string): string {
  const steps = checkpointSteps(dir);
  if (steps.length === 0) return `no model.ckpt-N checkpoints in ${dir}`;
  const shown = steps.length > 20 ? ['…', ...steps.slice(-20)] : steps;
  return `available steps in ${dir}: ${shown.join(', ')}`;
}

/**
 * The prefix `choice` names: a global step N (`DIR/model.ckpt-N`) or a path (a prefix, one of its
 * files or a directory, whose newest is taken). Without a choice, the newest the state file names.
 * Nothing is opened here; a checkpoint that is not there is a one-line error listing the steps.
 */
export function selectCheckpoint(modelDir: string, choice?: string): string {
  if (choice === undefined || choice === '') return newestListed(modelDir);
  if (/^\d+$/.test(choice)) {
    const prefix = path.join(modelDir, `${CHECKPOINT_BASENAME}-${Number(choice)}`);
    if (!existsSync(indexFileName(prefix))) throw new UserError(`no checkpoint at step ${choice} (${indexFileName(prefix)} does not exist); ${describeAvailable(modelDir)}`);
    return prefix;
  }
  const isDir = existsSync(choice) && !existsSync(indexFileName(choice)) && readdirSafe(choice) !== null;
  if (isDir) return newestListed(choice);
  const file = /\.(index|meta|data-\d{5}-of-\d{5})$/.exec(choice);
  const prefix = file && existsSync(choice) ? choice.slice(0, -file[0].length) : choice;
  if (!existsSync(indexFileName(prefix))) {
    throw new UserError(`${choice}: no checkpoint here (${indexFileName(prefix)} does not exist); ${describeAvailable(modelDir)}`);
  }
  return prefix;
}

/** selectCheckpoint, then opened and every tensor verified; damage names the newest intact checkpoint. */
export function openCheckpoint(modelDir: string, choice?: string): OpenedCheckpoint {
  let prefix: string;
  try {
    prefix = selectCheckpoint(modelDir, choice);
  } catch (err) {
    // A damaged state file, or one naming a checkpoint that is gone.
    if (err instanceof UserError && (choice === undefined || choice === '')) throw withSuggestion(err, modelDir, null);
    throw err;
  }
  try {
    return { prefix, reader: openVerified(prefix) };
  } catch (err) {
    if (err instanceof UserError) throw withSuggestion(err, path.dirname(prefix), prefix);
    throw err;
  }
}

/**
 * The checkpoint a training run resumes from, verified. Training has no --checkpoint (it always
 * goes on from the newest), so damage names the newest intact one and how to resume from it.
 */
export function openForResume(prefix: string): CheckpointReader {
  try {
    return openVerified(prefix);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    const dir = path.dirname(prefix);
    const intact = newestIntact(dir, prefix);
    const advice = intact
      ? `the newest intact checkpoint is ${path.basename(intact.prefix)}: to resume from it, delete the ${path.basename(prefix)}.* files and set model_checkpoint_path in ${path.join(dir, 'checkpoint')} to "${path.basename(intact.prefix)}"; or start over with --fresh`
      : 'start over with --fresh';
    throw new UserError(`${err.message}; ${advice}`);
  }
}

/** Opens a checkpoint and checks every tensor's CRC32C (raw weights, moving averages, optimizer slots). */
export function openVerified(prefix: string): CheckpointReader {
  const reader = CheckpointReader.open(prefix);
  reader.verifyChecksums();
  return reader;
}

/** The newest `model.ckpt-N` of `dir` that opens and verifies, other than `except`, or null. */
export function newestIntact(dir: string, except: string | null): { step: number; prefix: string } | null {
  const skip = except === null ? null : path.resolve(except);
  for (const step of checkpointSteps(dir).reverse()) {
    const prefix = path.join(dir, `${CHECKPOINT_BASENAME}-${step}`);
    if (path.resolve(prefix) === skip) continue;
    try {
      openVerified(prefix);
      return { step, prefix };
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
    }
  }
  return null;
}

function withSuggestion(err: UserError, dir: string, damaged: string | null): UserError {
  if (checkpointSteps(dir).length === 0) return err;
  const intact = newestIntact(dir, damaged);
  const advice = intact
    ? `the newest intact checkpoint is ${path.basename(intact.prefix)}: use it with --checkpoint ${intact.step}`
    : `no intact model.ckpt-N checkpoint in ${dir}`;
  return new UserError(`${err.message}; ${advice}`);
}

function newestListed(dir: string): string {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such model directory (train one with \`mnist train --model-dir ${dir}\`)`);
  const state = getCheckpointState(dir);
  if (!state) {
    if (checkpointSteps(dir).length === 0) throw new UserError(`${dir}: no checkpoint found (train first: mnist train --model-dir ${dir})`);
    throw new UserError(`${path.join(dir, 'checkpoint')}: missing, so the newest checkpoint is unknown`);
  }
  const newest = state.modelCheckpointPath;
  if (!existsSync(indexFileName(newest))) throw new UserError(`${indexFileName(newest)}: missing (the newest checkpoint the "checkpoint" file names)`);
  return newest;
}

function readdirSafe(dir: string): string[] | null {
  try {
    return readdirSync(dir);
  } catch {
    return null;
  }
}
