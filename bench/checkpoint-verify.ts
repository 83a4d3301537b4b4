/**
 * What verifying every tensor's CRC32C costs when a command opens a checkpoint (src/checkpoint/select.ts):
 * for each model, a training checkpoint (weights, moving averages, optimizer slots, as `mnist train`
 * writes it) is saved once, then opened without and with the full check, best of several runs.
 *
 *   node --import tsx bench/checkpoint-verify.ts [model…]     (default: mlp deep-cnn vgg-cnn)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckpointReader } from '../src/checkpoint/reader.js';
import { Saver } from '../src/checkpoint/saver.js';
import { openVerified } from '../src/checkpoint/select.js';
import { dataFileName } from '../src/formats/bundle.js';
import { saveTrainingCheckpoint } from '../src/checkpoint/global-step.js';
import { trainingState } from '../src/train/train.js';
import { trainingSetup } from './train-setup.js';

const RUNS = 7;

function best(fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

const work = mkdtempSync(path.join(tmpdir(), 'ckpt-verify-'));
try {
  for (const name of process.argv.slice(2).length ? process.argv.slice(2) : ['mlp', 'deep-cnn', 'vgg-cnn']) {
    const { model, optimizer, ema } = trainingSetup(name);
    const dir = path.join(work, name);
    const prefix = await saveTrainingCheckpoint(new Saver(), dir, trainingState(model, ema, optimizer), 1);
    const bytes = statSync(dataFileName(prefix, 0, 1)).size;
    const open = best(() => CheckpointReader.open(prefix));
    const verified = best(() => openVerified(prefix));
    const mb = bytes / 1e6;
    console.log(`${name.padEnd(9)} ${mb.toFixed(1).padStart(6)} MB  open ${open.toFixed(1).padStart(6)} ms  open+verify ${verified.toFixed(1).padStart(6)} ms  (+${(verified - open).toFixed(1)} ms, ${(mb / ((verified - open) / 1000)).toFixed(0)} MB/s)`);
    model.dispose();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
