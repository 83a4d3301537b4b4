/**
 * `mnist transfer`: the book's §6.5 retraining. A frozen graph turns each image into its
 * bottleneck vector (cached), and only a new softmax layer on top is trained; the result is a
 * model directory `mnist predict --model-dir` understands.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CheckpointReader } from '../checkpoint/reader.js';
import { latestCheckpoint, Saver } from '../checkpoint/saver.js';
import { restoreVariables } from '../checkpoint/tf-variables.js';
import { encodeGraphDef } from '../formats/graphdef.js';
import { openGraph } from '../graph/load.js';
import { FrozenGraph } from '../graph/tfjs-model.js';
import { readGlobalStep, saveTrainingCheckpoint } from '../checkpoint/global-step.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { BottleneckCache, BottleneckGraph, computeBottlenecks, type BottleneckStats } from './bottlenecks.js';
import { FinalLayer, trainFinalLayer, type LabelledVectors } from './final-layer.js';
import { readImageFolders, type SetName } from './image-folders.js';
import { TRANSFER_GRAPH_FILE, writeTransferInfo } from './model-dir.js';

export interface TransferOptions {
  graph: string;
  input: string;
  bottleneck: string;
  images: string;
  modelDir: string;
  /** Default: MODEL_DIR/bottlenecks. */
  bottleneckDir?: string;
  steps: number;
  batchSize: number;
  learningRate: number;
  validationPercent: number;
  testingPercent: number;
  evalEvery: number;
  checkpointEvery: number;
  inputMean: number;
  inputStd: number;
  seed: number;
  /** Go on from the newest checkpoint in modelDir (the new layer and its step) up to `steps`. */
  resume?: boolean;
  /** Checked before every step: true stops training there (with a checkpoint). */
  shouldStop?: () => boolean;
}

/** The book's retraining settings (retrain.py's defaults). */
export const TRANSFER_DEFAULTS = {
  steps: 4000,
  batchSize: 100,
  learningRate: 0.01,
  validationPercent: 10,
  testingPercent: 10,
  evalEvery: 100,
  checkpointEvery: 1000,
  inputMean: 0,
  inputStd: 255,
  seed: 1,
};

export interface TransferReporter {
  bottlenecksStart?(total: number): void;
  bottleneck?(done: number): void;
  trainStart?(steps: number): void;
  step?(info: { step: number; loss: number; validation?: number }): void;
  log?(line: string): void;
  stop?(): void;
}

export interface TransferResult {
  classes: string[];
  counts: Record<SetName, number>;
  bottleneckSize: number;
  cache: BottleneckStats;
  validationAccuracy: number;
  testAccuracy: number;
  checkpoint: string;
}

export async function runTransfer(opts: TransferOptions, reporter: TransferReporter = {}): Promise<TransferResult> {
  const folders = readImageFolders(opts.images, { validationPercent: opts.validationPercent, testingPercent: opts.testingPercent });
  const graphDef = openGraph(opts.graph);
  const graphBytes = encodeGraphDef(graphDef);
  const frozen = FrozenGraph.load(graphDef, opts.graph);
  try {
    const graph = await BottleneckGraph.open(frozen, graphBytes, opts.input, opts.bottleneck, { mean: opts.inputMean, std: opts.inputStd });
    const cache = new BottleneckCache(opts.bottleneckDir ?? path.join(opts.modelDir, 'bottlenecks'));
    reporter.bottlenecksStart?.(folders.images.length);
    const { vectors, stats } = await computeBottlenecks(graph, cache, folders.images.map((i) => i.file), (done) => reporter.bottleneck?.(done));
    reporter.stop?.();
    reporter.log?.(`Bottlenecks: ${stats.computed} computed, ${stats.cached} from the cache (${cache.dir}); ${graph.size} values each.`);

    const sets: Record<SetName, LabelledVectors> = { training: { vectors: [], labels: [] }, validation: { vectors: [], labels: [] }, testing: { vectors: [], labels: [] } };
    folders.images.forEach((img, i) => {
      sets[img.set].vectors.push(vectors[i]);
      sets[img.set].labels.push(img.label);
    });
    const counts = { training: sets.training.labels.length, validation: sets.validation.labels.length, testing: sets.testing.labels.length };
    reporter.log?.(`${folders.classes.length} classes (${folders.classes.join(', ')}); ${counts.training} training, ${counts.validation} validation, ${counts.testing} test images.`);

    mkdirSync(opts.modelDir, { recursive: true });
    await writeFileAtomic(path.join(opts.modelDir, TRANSFER_GRAPH_FILE), graphBytes);
    await writeTransferInfo(opts.modelDir, {
      kind: 'transfer',
      graph: TRANSFER_GRAPH_FILE,
      input: graph.input,
      bottleneck: graph.bottleneck,
      bottleneckSize: graph.size,
      inputSpec: graph.spec,
      classes: folders.classes,
      createdBy: 'mnist-ts',
    });

    const layer = FinalLayer.build(graph.size, folders.classes.length, opts.seed);
    const saver = new Saver({ maxToKeep: 5 });
    const state = new Map(layer.store.all().map((v) => [v.name, v.variable]));
    const resumeFrom = opts.resume ? latestCheckpoint(opts.modelDir) : null;
    let fromStep = 0;
    if (resumeFrom) {
      const reader = CheckpointReader.open(resumeFrom);
      restoreVariables(reader, state);
      fromStep = readGlobalStep(reader);
      reporter.log?.(`Resuming from ${path.basename(resumeFrom)} at step ${fromStep}.`);
    }
    let validationAccuracy = NaN;
    reporter.trainStart?.(opts.steps);
    const run = await trainFinalLayer(layer, sets.training, sets.validation, {
      steps: opts.steps,
      batchSize: opts.batchSize,
      learningRate: opts.learningRate,
      seed: opts.seed,
      evalEvery: opts.evalEvery,
      shouldStop: opts.shouldStop,
      onStep: (info) => {
        reporter.step?.(info);
        if (info.validation !== undefined) {
          validationAccuracy = info.validation;
          reporter.log?.(`Step ${info.step}: cross entropy ${info.loss.toFixed(4)}, validation accuracy ${formatAccuracy(info.validation, counts.validation)}`);
        }
      },
      checkpointEvery: opts.checkpointEvery,
      save: (step) => saveTrainingCheckpoint(saver, opts.modelDir, state, step),
    }, fromStep);
    const checkpoint = run.checkpoint ?? resumeFrom ?? '';
    reporter.stop?.();
    const testAccuracy = layer.accuracy(sets.testing);
    layer.dispose();
    return { classes: folders.classes, counts, bottleneckSize: graph.size, cache: stats, validationAccuracy, testAccuracy, checkpoint };
  } finally {
    frozen.dispose();
  }
}

export function formatAccuracy(accuracy: number, n: number): string {
  return Number.isNaN(accuracy) ? `n/a (no images)` : `${(accuracy * 100).toFixed(1)}% (N=${n})`;
}
