import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { openCheckpoint } from '../checkpoint/select.js';
import { restoreVariables } from '../checkpoint/tf-variables.js';
import { IMAGE_PIXELS, NUM_CLASSES, type MnistSplit } from '../data/mnist.js';
import { Model } from '../models/model.js';
import { getModelDefinition } from '../models/registry.js';
import { ExponentialMovingAverage } from '../train/ema.js';
import { resolveModelName, requireModelDir } from '../train/model-dir.js';
import { readGlobalStep } from '../checkpoint/global-step.js';

export interface LoadedModel {
  model: Model;
  checkpoint: string;
  globalStep: number;
  /** True when the EMA shadow values were loaded in place of the variables. */
  usedEma: boolean;
}

/**
 * Builds the directory's model and restores a checkpoint into it — with the moving averages in
 * place of the variables when asked and present (mnist_eval.py's variables_to_restore()).
 * `checkpoint` is a global step or a path prefix (default: the newest); every tensor is verified.
 */
export function loadModel(modelDir: string, opts: { useEma?: boolean; model?: string; checkpoint?: string } = {}): LoadedModel {
  requireModelDir(modelDir);
  const { prefix: checkpoint, reader } = openCheckpoint(modelDir, opts.checkpoint);
  const model = Model.build(getModelDefinition(resolveModelName(modelDir, opts.model)));
  const variables = model.store.all();
  const haveShadows = variables.filter((v) => v.trainable).every((v) => reader.has(ExponentialMovingAverage.shadowName(v.name)));
  const usedEma = (opts.useEma ?? true) && haveShadows;
  const mapping = usedEma ? ExponentialMovingAverage.variablesToRestore(variables) : Object.fromEntries(variables.map((v) => [v.name, v.variable]));
  restoreVariables(reader, mapping);
  return { model, checkpoint, globalStep: readGlobalStep(reader), usedEma };
}

export interface Evaluation {
  accuracy: number;
  correct: number;
  count: number;
  predictions: Uint8Array;
}

/** Accuracy of the model on a split, in batches (no dropout). */
export function evaluate(model: Model, split: MnistSplit, batchSize = 1000): Evaluation {
  const predictions = new Uint8Array(split.count);
  const pixels = new Float32Array(batchSize * IMAGE_PIXELS);
  let correct = 0;
  for (let start = 0; start < split.count; start += batchSize) {
    const n = Math.min(batchSize, split.count - start);
    const batch = pixels.subarray(0, n * IMAGE_PIXELS);
    const raw = split.images.subarray(start * IMAGE_PIXELS, (start + n) * IMAGE_PIXELS);
    for (let i = 0; i < raw.length; i++) batch[i] = raw[i] / 255;
    const argmax = tf.tidy(() => tf.argMax(model.logits(tf.tensor2d(batch, [n, IMAGE_PIXELS])), 1).dataSync());
    for (let i = 0; i < n; i++) {
      predictions[start + i] = argmax[i];
      if (argmax[i] === split.labels[start + i]) correct++;
    }
  }
  return { accuracy: split.count ? correct / split.count : 0, correct, count: split.count, predictions };
}

/** rows = true label, columns = prediction. */
export function confusionMatrix(labels: Uint8Array, predictions: Uint8Array): number[][] {
  const m = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
  labels.forEach((label, i) => m[label][predictions[i]]++);
  return m;
}

export function formatConfusionMatrix(m: number[][]): string {
  const width = Math.max(5, ...m.flat().map((v) => String(v).length + 1));
  const pad = (s: string | number) => String(s).padStart(width);
  const header = 'true\\pred'.padEnd(10) + m.map((_, i) => pad(i)).join('');
  const rows = m.map((row, i) => String(i).padEnd(10) + row.map(pad).join(''));
  return [header, ...rows].join('\n');
}

export function checkpointLabel(checkpoint: string): string {
  return path.basename(checkpoint);
}
