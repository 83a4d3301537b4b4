/**
 * Opens a graph file the way the CLI takes one: a frozen GraphDef (`.pb`, ours or TensorFlow's),
 * a MetaGraphDef (`.meta`) plus the checkpoint beside it — import_meta_graph and restore — or a
 * TensorFlow.js graph model (`model.json` + weights), or a SavedModel's `serving_default` signature.
 */
import { CheckpointReader } from '../checkpoint/reader.js';
import { UserError } from '../errors.js';
import { decodeGraphDef, decodeMetaGraphDef, type GraphDef } from '../formats/graphdef.js';
import { restoreMetaGraph } from './meta-import.js';
import { readTfjsGraphModel } from './tfjs-import.js';
import { readFileOrFail } from '../util/read-file.js';
import { isSavedModel, openSavedModelSignature } from './saved-model.js';

export interface OpenGraphOptions {
  /** For a `.meta` file: the checkpoint prefix to restore (default: the `.meta` path without `.meta`). */
  checkpoint?: string;
  /** For a `.meta` file: what to keep (required there; a `.meta` graph also holds saving and training nodes). */
  outputs?: string[];
  /** For a `.meta` file: restore the moving averages (`v/ExponentialMovingAverage`) into the variables. */
  useEma?: boolean;
  /** For a `.meta` file: variable node name → checkpoint key. */
  rename?: Record<string, string>;
}

export function readGraphBytes(file: string): Uint8Array {
  return readFileOrFail(file, 'a graph file');
}

export function isMetaGraphFile(file: string): boolean {
  return file.endsWith('.meta');
}

/** A runnable (frozen) GraphDef from a `.pb`, a `.meta` + checkpoint, or a TensorFlow.js `model.json`. */
export function openGraph(file: string, options: OpenGraphOptions = {}): GraphDef {
  if (file.endsWith('.json')) return readTfjsGraphModel(file);
  if (isSavedModel(file)) return openSavedModelSignature(file).graph;
  const bytes = readGraphBytes(file);
  if (!isMetaGraphFile(file)) return decodeGraphDef(bytes, file);
  const meta = decodeMetaGraphDef(bytes, file);
  if (!options.outputs?.length) throw new UserError(`${file}: name the output to compute with --output NODE:0 (a .meta graph also holds saving and training nodes)`);
  const reader = CheckpointReader.open(options.checkpoint ?? file.slice(0, -'.meta'.length));
  return restoreMetaGraph(meta, reader, { outputs: options.outputs, useEma: options.useEma, rename: options.rename, file });
}
