import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { latestCheckpoint } from '../checkpoint/saver.js';
import { openCheckpoint } from '../checkpoint/select.js';
import { loadMnist, sliceSplit, type Mnist, type MnistSplit } from '../data/mnist.js';
import { evaluate, loadModel, type LoadedModel } from '../eval/evaluate.js';
import { UserError } from '../errors.js';
import { readModelDirInfo } from '../train/model-dir.js';
import { HttpError } from './http.js';

/** Images evaluated between two turns of the event loop. */
const EVAL_SLICE = 250;

export interface CheckpointEntry {
  /** The checkpoint's name inside the model directory, e.g. `model.ckpt-500` (what the API takes). */
  name: string;
  prefix: string;
  step: number | null;
  savedAt: number;
  latest: boolean;
}

export interface MistakeSet {
  checkpoint: string;
  step: number;
  accuracy: number;
  testCount: number;
  /** Indices into the test split of the images the model gets wrong. */
  wrong: number[];
  predictions: Uint8Array;
}

export interface ModelStoreOptions {
  modelDir: string;
  dataDir?: string;
  limit?: number;
  /** Use the moving averages of the weights when a checkpoint has them (as `mnist eval` does). */
  useEma?: boolean;
  /**
   * The checkpoint used when a request names none (`mnist serve --checkpoint`): a global step or
   * a prefix inside the model directory. Default: the newest.
   */
  checkpoint?: string;
  /** Loaded models kept in memory at once. */
  maxLoaded?: number;
}

/**
 * The server's view of a model directory: its checkpoints, the models restored from them (cached,
 * the newest reloaded as soon as training writes it), their validation accuracy and test mistakes
 * (computed on first request, then cached per checkpoint file).
 */
export class ModelStore {
  readonly modelDir: string;
  private readonly loaded = new Map<string, { model: LoadedModel; mtimeMs: number }>();
  private readonly accuracies = new Map<string, number>();
  private mistakeCache: { key: string; set: MistakeSet } | undefined;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private closed = false;
  private listing: { dirMtimeMs: number; entries: CheckpointEntry[] } | undefined;
  private data: Mnist | undefined;
  /** The name of the checkpoint chosen with `checkpoint`, if any. */
  private readonly pinned: string | undefined;

  constructor(private readonly opts: ModelStoreOptions) {
    this.modelDir = opts.modelDir;
    if (opts.checkpoint !== undefined) this.pinned = pinnedCheckpointName(opts.modelDir, opts.checkpoint);
  }

  /** The checkpoint chosen with `checkpoint` (`mnist serve --checkpoint`), if any: requests naming none use it. */
  pinnedCheckpoint(): string | undefined {
    return this.pinned;
  }

  /** The model the directory records (`mnist-ts.json`), or the default. */
  modelName(): string {
    try {
      return readModelDirInfo(this.modelDir)?.model ?? 'mlp';
    } catch {
      return 'mlp';
    }
  }

  /**
   * Every complete checkpoint in the directory (index + data present), oldest step first. Listed
   * again only when the directory changed: checkpoint files and the state file are written by
   * renaming into place, which updates the directory's mtime (one stat per predict request).
   */
  checkpoints(): CheckpointEntry[] {
    let dirMtimeMs: number;
    try {
      dirMtimeMs = statSync(this.modelDir).mtimeMs;
    } catch {
      return [];
    }
    if (this.listing?.dirMtimeMs === dirMtimeMs) return this.listing.entries;
    const entries = this.listCheckpoints();
    this.listing = { dirMtimeMs, entries };
    return entries;
  }

  private listCheckpoints(): CheckpointEntry[] {
    if (!existsSync(this.modelDir)) return [];
    const files = readdirSync(this.modelDir);
    const latest = this.latestPrefix();
    const out: CheckpointEntry[] = [];
    for (const file of files) {
      if (!file.endsWith('.index')) continue;
      const name = file.slice(0, -'.index'.length);
      if (!files.some((f) => f.startsWith(`${name}.data-`))) continue;
      const prefix = path.join(this.modelDir, name);
      let savedAt: number;
      try {
        savedAt = statSync(`${prefix}.index`).mtimeMs;
      } catch {
        continue; // deleted by the trainer (max_to_keep) while we looked
      }
      const m = /-(\d+)$/.exec(name);
      out.push({ name, prefix, step: m ? Number(m[1]) : null, savedAt, latest: prefix === latest });
    }
    return out.sort((a, b) => (a.step ?? -1) - (b.step ?? -1) || a.savedAt - b.savedAt);
  }

  private latestPrefix(): string | null {
    try {
      const latest = latestCheckpoint(this.modelDir);
      return latest === null ? null : path.join(this.modelDir, path.basename(latest));
    } catch {
      return null;
    }
  }

  /** A checkpoint by name (as listed), or the default (the newest) when `name` is empty. 404 if there is none. */
  resolve(name?: string): CheckpointEntry {
    const all = this.checkpoints();
    if (!name && this.pinned !== undefined) {
      const entry = all.find((c) => c.name === this.pinned);
      if (!entry) throw new HttpError(404, `the checkpoint chosen with --checkpoint (${this.pinned}) is no longer in ${this.modelDir}`);
      return entry;
    }
    if (!name) {
      const entry = all.find((c) => c.latest) ?? all.at(-1);
      if (!entry) throw new HttpError(404, `${this.modelDir}: no checkpoint yet (train one first)`);
      return entry;
    }
    const entry = all.find((c) => c.name === name);
    if (!entry) throw new HttpError(404, `no checkpoint named "${name}" in ${this.modelDir}`);
    return entry;
  }

  /** The restored model of a checkpoint (the newest by default), loading it if needed. */
  model(name?: string): LoadedModel {
    const entry = this.resolve(name);
    const cached = this.loaded.get(entry.prefix);
    if (cached && cached.mtimeMs === entry.savedAt) {
      // Most recently used last, so the first entry is the one to evict.
      this.loaded.delete(entry.prefix);
      this.loaded.set(entry.prefix, cached);
      return cached.model;
    }
    if (cached) this.evict(entry.prefix);
    const model = loadModel(this.modelDir, { checkpoint: entry.prefix, useEma: this.opts.useEma ?? true });
    this.loaded.set(entry.prefix, { model, mtimeMs: entry.savedAt });
    while (this.loaded.size > (this.opts.maxLoaded ?? 3)) this.evict(this.loaded.keys().next().value!);
    return model;
  }

  private evict(prefix: string): void {
    this.loaded.get(prefix)?.model.model.dispose();
    this.loaded.delete(prefix);
  }

  mnist(): Mnist {
    this.data ??= loadMnist({ dataDir: this.opts.dataDir, limit: this.opts.limit });
    return this.data;
  }

  /** Validation accuracy if already computed (no work). */
  cachedAccuracy(entry: CheckpointEntry): number | undefined {
    return this.accuracies.get(cacheKey(entry));
  }

  /** Validation accuracy of a checkpoint (computed once per checkpoint file; concurrent asks share the work). */
  validationAccuracy(entry: CheckpointEntry): Promise<number> {
    const key = cacheKey(entry);
    const known = this.accuracies.get(key);
    if (known !== undefined) return Promise.resolve(known);
    return this.once(`accuracy ${key}`, async () => {
      const { accuracy } = await this.evaluateCheckpoint(entry, this.mnist().validation);
      this.accuracies.set(key, accuracy);
      return accuracy;
    });
  }

  /** The test images a checkpoint's model gets wrong (one checkpoint's set is kept). */
  mistakes(name?: string): Promise<MistakeSet> {
    const entry = this.resolve(name);
    const key = cacheKey(entry);
    if (this.mistakeCache?.key === key) return Promise.resolve(this.mistakeCache.set);
    return this.once(`mistakes ${key}`, async () => {
      const test = this.mnist().test;
      const result = await this.evaluateCheckpoint(entry, test);
      const wrong: number[] = [];
      for (let i = 0; i < test.count; i++) if (result.predictions[i] !== test.labels[i]) wrong.push(i);
      const set: MistakeSet = { checkpoint: entry.name, step: result.globalStep, accuracy: result.accuracy, testCount: test.count, wrong, predictions: result.predictions };
      this.mistakeCache = { key, set };
      return set;
    });
  }

  private once<T>(key: string, work: () => Promise<T>): Promise<T> {
    let running = this.inFlight.get(key) as Promise<T> | undefined;
    if (!running) {
      running = work().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, running);
    }
    return running;
  }

  /**
   * Evaluates a checkpoint on a split in slices, letting the event loop run between them so
   * predictions stay quick while a CNN works through 10,000 test images. The model is a private
   * copy: the cache may evict its own while this runs.
   */
  private async evaluateCheckpoint(entry: CheckpointEntry, split: MnistSplit): Promise<{ accuracy: number; predictions: Uint8Array; globalStep: number }> {
    const loaded = loadModel(this.modelDir, { checkpoint: entry.prefix, useEma: this.opts.useEma ?? true });
    try {
      const predictions = new Uint8Array(split.count);
      let correct = 0;
      for (let start = 0; start < split.count; start += EVAL_SLICE) {
        if (this.closed) throw new Error('server closed');
        const part = evaluate(loaded.model, sliceSplit(split, start, start + EVAL_SLICE), EVAL_SLICE);
        predictions.set(part.predictions, start);
        correct += part.correct;
        await new Promise((resolve) => setImmediate(resolve));
      }
      return { accuracy: split.count ? correct / split.count : 0, predictions, globalStep: loaded.globalStep };
    } finally {
      loaded.model.dispose();
    }
  }

  dispose(): void {
    this.closed = true;
    for (const prefix of [...this.loaded.keys()]) this.evict(prefix);
  }
}

/** The name inside `modelDir` of the checkpoint `choice` names, checked to be there and intact. */
function pinnedCheckpointName(modelDir: string, choice: string): string {
  const { prefix } = openCheckpoint(modelDir, choice);
  if (path.resolve(path.dirname(prefix)) !== path.resolve(modelDir)) {
    throw new UserError(`${prefix}: not a checkpoint of ${modelDir} (serve --checkpoint takes a step or a checkpoint inside the model directory)`);
  }
  return path.basename(prefix);
}

function cacheKey(entry: CheckpointEntry): string {
  return `${entry.prefix}@${entry.savedAt}`;
}
