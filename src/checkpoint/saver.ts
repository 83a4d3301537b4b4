/**
 * tf.train.Saver for plain tensors: writes TensorFlow V2 checkpoints
 * (`PREFIX.index`, `PREFIX.data-00000-of-00001`, optional `PREFIX.meta`), keeps the `checkpoint`
 * state file up to date and deletes checkpoints beyond `maxToKeep`.
 *
 * Crash safety: each file is written under a temporary name and renamed into place, and the
 * state file is replaced only after all of them, so anyone following the state file (the
 * evaluator) sees the previous complete checkpoint until the new one is complete. Old checkpoints
 * are deleted only after the state file no longer lists them; a process killed between those two
 * steps leaves checkpoints that no state file lists, which the next run's first save deletes.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { dataFileName, indexFileName, writeBundle } from '../formats/bundle.js';
import type { TensorValue } from '../formats/tensor-value.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { BEST_FILE } from './best.js';
import { checkpointStatePath, getCheckpointState, writeCheckpointState } from './state.js';

export { getCheckpointState, latestCheckpoint } from './state.js';

export interface SaverOptions {
  /** How many of the newest checkpoints to keep; 0 keeps all. Default 5, as TensorFlow's. */
  maxToKeep?: number;
}

export interface SaveOptions {
  /** Appended to the prefix as `-N`, as TensorFlow does. */
  globalStep?: number;
  /** A serialized MetaGraphDef, written as `PREFIX.meta`. */
  metaGraph?: Uint8Array;
}

/** Points in a save after which a crash is simulated in tests. */
export type SaveStage = 'data' | 'index' | 'meta' | 'state';

export class Saver {
  readonly maxToKeep: number;
  /** Prefixes of the checkpoints this saver manages, oldest first, as absolute paths. */
  private checkpoints: string[] | null = null;
  /** A checkpoint kept whatever its age (the best one, see preserve()), absolute. */
  private preserved: string | null = null;

  constructor(options: SaverOptions = {}) {
    this.maxToKeep = options.maxToKeep ?? 5;
    if (!Number.isInteger(this.maxToKeep) || this.maxToKeep < 0) throw new RangeError(`maxToKeep must be a whole number >= 0, got ${this.maxToKeep}`);
  }

  /**
   * Saves `tensors` under `prefixBase` (e.g. `runs/mlp/model.ckpt`) and returns the prefix written
   * (`runs/mlp/model.ckpt-1000` with globalStep 1000).
   */
  async save(prefixBase: string, tensors: Map<string, TensorValue>, options: SaveOptions = {}): Promise<string> {
    const { globalStep, metaGraph } = options;
    if (globalStep !== undefined && (!Number.isSafeInteger(globalStep) || globalStep < 0)) {
      throw new RangeError(`globalStep must be a whole number >= 0, got ${globalStep}`);
    }
    const prefix = globalStep === undefined ? prefixBase : `${prefixBase}-${globalStep}`;
    const dir = path.dirname(prefix);
    await fs.mkdir(dir, { recursive: true });
    if (this.checkpoints === null) await removeStaleTempFiles(dir, path.basename(prefixBase));

    const files = writeBundle(tensors);
    await writeFileAtomic(dataFileName(prefix, 0, 1), files.data);
    this.afterStage('data');
    await writeFileAtomic(indexFileName(prefix), files.index);
    this.afterStage('index');
    if (metaGraph) {
      await writeFileAtomic(`${prefix}.meta`, metaGraph);
      this.afterStage('meta');
    }

    const absolute = path.resolve(prefix);
    const firstSave = this.checkpoints === null;
    const recovered = firstSave ? recoverCheckpoints(dir) : null;
    const list = (this.checkpoints ??= recovered?.paths ?? []).filter((p) => p !== absolute);
    if (this.preserved !== null && !list.includes(this.preserved) && this.preserved !== absolute && existsSync(indexFileName(this.preserved))) {
      list.unshift(this.preserved);
    }
    list.push(absolute);
    const newest = this.maxToKeep > 0 ? list.slice(-this.maxToKeep) : list;
    const kept = list.filter((p) => newest.includes(p) || p === this.preserved);
    const expired = list.filter((p) => !kept.includes(p));
    this.checkpoints = kept;
    // Only when the state file could be read: without it we cannot tell an orphan from a keeper.
    if (recovered?.stateRead) expired.push(...(await unlistedCheckpoints(dir, path.basename(prefixBase), [...kept, ...expired])));

    await writeCheckpointState(dir, absolute, kept);
    this.afterStage('state');
    for (const old of expired) await deleteCheckpointFiles(old);
    return prefix;
  }

  /** The checkpoints this saver keeps, oldest first (absolute prefixes). */
  lastCheckpoints(): string[] {
    return [...(this.checkpoints ?? [])];
  }

  /**
   * Keeps this checkpoint (an absolute or relative prefix) besides the newest `maxToKeep`, listed in
   * the state file, until another is preserved; null keeps none. Takes effect at the next save.
   */
  preserve(prefix: string | null): void {
    this.preserved = prefix === null ? null : path.resolve(prefix);
  }

  /** Test hook: called after each stage of a save completes. */
  protected afterStage(_stage: SaveStage): void {}
}

/**
 * Checkpoints an earlier run listed in the directory's state file and that still exist;
 * `stateRead` is false when there is no state file or it cannot be read.
 */
function recoverCheckpoints(dir: string): { paths: string[]; stateRead: boolean } {
  let state;
  try {
    state = getCheckpointState(dir);
  } catch {
    return { paths: [], stateRead: false }; // an unreadable state file is about to be replaced
  }
  if (!state) return { paths: [], stateRead: false };
  const paths = [...state.allModelCheckpointPaths];
  if (!paths.includes(state.modelCheckpointPath)) paths.push(state.modelCheckpointPath);
  return { paths: [...new Set(paths.map((p) => path.resolve(p)))].filter((p) => existsSync(indexFileName(p))), stateRead: true };
}

/** `BASE-N` checkpoints (any of their files) in `dir` that are not among `known` (absolute prefixes). */
async function unlistedCheckpoints(dir: string, base: string, known: string[]): Promise<string[]> {
  return (await numberedCheckpoints(dir, base)).filter((p) => !known.includes(p));
}

/** Absolute prefixes of the `BASE-N` checkpoints that have any file in `dir`. */
async function numberedCheckpoints(dir: string, base: string): Promise<string[]> {
  const home = path.resolve(dir);
  const numbered = new RegExp(`^(${escapeRegExp(base)}-\\d+)\\.(?:index|meta|data-\\d{5}-of-\\d{5})$`);
  const prefixes = new Set<string>();
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = numbered.exec(name);
    if (m) prefixes.add(path.join(home, m[1]));
  }
  return [...prefixes];
}

/**
 * Removes temporary files that a killed save left behind (`.tmp-<name>-<pid>-<random>`, see
 * util/atomic-write.ts) for this checkpoint's files or the `checkpoint` state file, but only
 * those of processes that no longer run.
 */
async function removeStaleTempFiles(dir: string, base: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = /^\.tmp-(.+)-(\d+)-[a-z0-9]+$/.exec(name);
    const ours = m !== null && (m[1].startsWith(base) || m[1] === 'checkpoint' || m[1] === BEST_FILE);
    if (!m || !ours || Number(m[2]) === process.pid || processAlive(Number(m[2]))) continue;
    await fs.rm(path.join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes a checkpoint's index, data shards and meta file; missing files are fine. */
export async function deleteCheckpointFiles(prefix: string): Promise<void> {
  const dir = path.dirname(prefix);
  const base = path.basename(prefix);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  const dataFile = new RegExp(`^${escapeRegExp(base)}\\.data-\\d{5}-of-\\d{5}$`);
  const doomed = names.filter((n) => n === `${base}.index` || n === `${base}.meta` || dataFile.test(n));
  // The index first: without it the checkpoint is no longer offered to readers.
  doomed.sort((a, b) => Number(b.endsWith('.index')) - Number(a.endsWith('.index')));
  for (const n of doomed) await fs.rm(path.join(dir, n), { force: true });
}

/**
 * Forgets and deletes every checkpoint in `dir` that a training run starting from scratch would
 * otherwise resume or list: those of the state file (inside `dir` only) and any `BASE-N.*` files,
 * and the record of the best one (best.ts).
 * The state file goes first, so nobody is pointed at a checkpoint while it is being deleted.
 * Returns how many checkpoints it deleted.
 */
export async function deleteAllCheckpoints(dir: string, base: string): Promise<number> {
  const home = path.resolve(dir);
  const prefixes = new Set(recoverCheckpoints(dir).paths.filter((p) => path.dirname(p) === home));
  await fs.rm(checkpointStatePath(dir), { force: true });
  await fs.rm(path.join(dir, BEST_FILE), { force: true });
  for (const prefix of await numberedCheckpoints(dir, base)) prefixes.add(prefix);
  for (const prefix of prefixes) await deleteCheckpointFiles(prefix);
  return prefixes.size;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
