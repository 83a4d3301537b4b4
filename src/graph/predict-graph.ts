/**
 * `mnist predict --graph model.pb`: digits from a frozen graph instead of a checkpoint. The graph
 * needs one placeholder taking the 784 pixels (any shape holding 784 values per image, e.g.
 * [-1, 784] or [-1, 28, 28, 1]); its `probabilities` node is used when present (our frozen
 * graphs), otherwise its only output, softmaxed unless it already holds probabilities. A
 * SavedModel directory runs its `serving_default` signature; a fixed batch size is padded to.
 */
import * as tf from '@tensorflow/tfjs';
import { IMAGE_PIXELS } from '../data/mnist.js';
import { fileError } from '../errors.js';
import type { Prediction } from '../predict/predict.js';
import { shapeFor } from './feeds.js';
import { DEFAULT_PROBABILITIES_NODE } from './graphdef.js';
import { openGraph } from './load.js';
import { FrozenGraph } from './tfjs-model.js';

function looksLikeProbabilities(rows: number[][]): boolean {
  return rows.every((r) => r.every((p) => p >= 0 && p <= 1) && Math.abs(r.reduce((a, b) => a + b, 0) - 1) < 1e-3);
}

/**
 * A placeholder with a fixed batch size (TF 1.x graphs exported with `[100, 784]`): images go in
 * chunks of exactly that many, the last one padded with blank images whose results are dropped.
 */
function fixedBatch(shape: number[] | undefined): number | undefined {
  if (!shape || shape.length < 2 || shape[0] <= 0) return undefined;
  return shape.slice(1).reduce((a, b) => a * b, 1) === IMAGE_PIXELS ? shape[0] : undefined;
}

export interface GraphPredictOptions {
  /** The placeholder fed the images (default: the graph's only one). */
  input?: string;
  /** The tensor holding the 10 scores (default: `probabilities`, else the graph's only output). */
  output?: string;
  /** Receives notes (padding to a fixed batch size); default: stderr. */
  onNote?: (line: string) => void;
}

/** Images in one run at most (a CNN's activations for all 10,000 test images would not fit). */
const MAX_BATCH = 1000;

export async function predictWithGraph(file: string, images: Float32Array[], options: GraphPredictOptions = {}): Promise<Prediction[]> {
  if (!images.length) return [];
  const onNote = options.onNote ?? ((l: string) => console.error(l));
  const frozen = FrozenGraph.load(openGraph(file, options.output ? { outputs: [options.output] } : {}), file);
  try {
    const placeholders = frozen.inputs;
    const named = options.input === undefined ? undefined : placeholders.find((p) => p.name === options.input!.replace(/:0$/, ''));
    if (options.input !== undefined && !named) throw fileError(file, `no placeholder named "${options.input}" (placeholders: ${placeholders.map((p) => p.name).join(', ') || 'none'})`);
    if (!named && placeholders.length !== 1) throw fileError(file, `expected one input placeholder for the image, found ${placeholders.length} (${placeholders.map((p) => p.name).join(', ')}); name it with --input`);
    const input = named ?? placeholders[0];
    const hasProbabilities = !options.output && frozen.graph.node.some((n) => n.name === DEFAULT_PROBABILITIES_NODE);
    const outputs = options.output ? [options.output.includes(':') ? options.output : `${options.output}:0`] : hasProbabilities ? [`${DEFAULT_PROBABILITIES_NODE}:0`] : frozen.defaultOutputs;
    if (outputs.length !== 1) throw fileError(file, `cannot tell which output holds the digit scores (${outputs.join(', ')}); name it with --output`);
    const batch = fixedBatch(input.shape);
    const chunk = batch ?? Math.min(images.length, MAX_BATCH);
    const padding = (chunk - (images.length % chunk)) % chunk;
    if (batch && padding) onNote(`note: ${file}: placeholder ${input.name} takes batches of exactly ${batch} images; padded with ${padding} blank image(s), whose results are dropped`);
    const scores: number[][] = [];
    for (let start = 0; start < images.length; start += chunk) {
      const flat = new Float32Array(chunk * IMAGE_PIXELS);
      images.slice(start, start + chunk).forEach((img, i) => flat.set(img, i * IMAGE_PIXELS));
      const shape = shapeFor({ dtype: 'float32', shape: [chunk, IMAGE_PIXELS], data: flat }, input.shape, `${file}: placeholder ${input.name}`);
      const x = tf.tensor(flat, shape);
      const [out] = await frozen.run({ [input.name]: x }, outputs);
      const rows = tf.tidy(() => out.reshape([chunk, -1]).arraySync() as number[][]);
      scores.push(...rows.slice(0, Math.min(chunk, images.length - start)));
      tf.dispose([x, out]);
    }
    const probabilities = hasProbabilities || looksLikeProbabilities(scores) ? scores : tf.tidy(() => tf.softmax(tf.tensor2d(scores)).arraySync() as number[][]);
    return probabilities.map((p) => ({ digit: p.indexOf(Math.max(...p)), probabilities: p }));
  } finally {
    frozen.dispose();
  }
}
