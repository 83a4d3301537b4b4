/**
 * A transfer-learning model directory: the frozen graph it builds on (`graph.pb`), what to feed
 * and read (`transfer.json`), and TensorFlow checkpoints of the new final layer.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { parseJsonText } from '../util/json-text.js';
import { readFileOrFail } from '../util/read-file.js';
import type { InputSpec } from './bottlenecks.js';

export const TRANSFER_INFO_FILE = 'transfer.json';
export const TRANSFER_GRAPH_FILE = 'graph.pb';

export interface TransferInfo {
  kind: 'transfer';
  /** The frozen graph, relative to the model directory. */
  graph: string;
  input: string;
  bottleneck: string;
  bottleneckSize: number;
  inputSpec: InputSpec;
  /** Class names; label i is classes[i]. */
  classes: string[];
  createdBy: string;
}

export function isTransferModelDir(dir: string): boolean {
  return existsSync(path.join(dir, TRANSFER_INFO_FILE));
}

export function readTransferInfo(dir: string): TransferInfo {
  const file = path.join(dir, TRANSFER_INFO_FILE);
  const info = parseJsonText(readFileOrFail(file, 'a transfer model description').toString('utf8'), file) as TransferInfo;
  if (!info || info.kind !== 'transfer' || !Array.isArray(info.classes) || typeof info.bottleneck !== 'string' || typeof info.input !== 'string') {
    throw fileError(file, 'not a transfer model description (missing kind, classes, input or bottleneck)');
  }
  return info;
}

export async function writeTransferInfo(dir: string, info: TransferInfo): Promise<void> {
  await writeFileAtomic(path.join(dir, TRANSFER_INFO_FILE), JSON.stringify(info, null, 2) + '\n');
}
