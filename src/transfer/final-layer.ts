/**
 * The new last layer of transfer learning (book §6.5): bottleneck vectors in, one fully connected
 * layer with softmax out, trained by gradient descent on a cross-entropy loss. Its graph is built
 * like every model's (GraphBuilder): `BottleneckInputPlaceholder` → `final_training_ops/MatMul`
 * + biases → `final_result` (Softmax), retrain.py's names.
 */
import * as tf from '@tensorflow/tfjs';
import { execute } from '../models/execute.js';
import { GraphBuilder, type Graph } from '../models/graph.js';
import { sparseSoftmaxCrossEntropy } from '../train/loss.js';
import { runSteps, type StepLoopResult } from '../train/loop.js';
import { createOptimizer } from '../train/optimizers.js';
import { deriveSeed } from '../pipeline/random.js';
import { Random } from '../util/random.js';
import { truncatedNormal, zeros } from '../variables/initializers.js';
import { VariableStore } from '../variables/store.js';

export const BOTTLENECK_INPUT = 'BottleneckInputPlaceholder';
export const FINAL_RESULT = 'final_result';

export interface LabelledVectors {
  vectors: Float32Array[];
  labels: number[];
}

export class FinalLayer {
  private constructor(
    readonly store: VariableStore,
    readonly graph: Graph,
    readonly logitsNode: string,
    readonly bottleneckSize: number,
    readonly classCount: number,
  ) {}

  static build(bottleneckSize: number, classCount: number, seed = 1): FinalLayer {
    const store = new VariableStore(seed);
    const b = new GraphBuilder(store);
    const input = b.placeholder(BOTTLENECK_INPUT, [null, bottleneckSize]);
    const logits = b.scope('final_training_ops', () => {
      const w = b.variable('weights', [bottleneckSize, classCount], { initializer: truncatedNormal(0.001) });
      const bias = b.variable('biases', [classCount], { initializer: zeros() });
      return b.add2(b.matMul(input, w), bias);
    });
    b.softmax(logits, FINAL_RESULT);
    return new FinalLayer(store, b.graph, logits, bottleneckSize, classCount);
  }

  logits(x: tf.Tensor2D): tf.Tensor2D {
    return execute(this.graph, { [BOTTLENECK_INPUT]: x }, [this.logitsNode], { variable: (n) => this.store.get(n)!.variable })[0] as tf.Tensor2D;
  }

  probabilities(vectors: Float32Array[]): number[][] {
    if (!vectors.length) return [];
    return tf.tidy(() => tf.softmax(this.logits(stack(vectors, this.bottleneckSize))).arraySync() as number[][]);
  }

  accuracy(set: LabelledVectors): number {
    if (!set.vectors.length) return NaN;
    const probs = this.probabilities(set.vectors);
    return probs.filter((p, i) => p.indexOf(Math.max(...p)) === set.labels[i]).length / probs.length;
  }

  dispose(): void {
    this.store.dispose();
  }
}

function stack(vectors: Float32Array[], size: number): tf.Tensor2D {
  const flat = new Float32Array(vectors.length * size);
  vectors.forEach((v, i) => flat.set(v, i * size));
  return tf.tensor2d(flat, [vectors.length, size]);
}

export interface FinalLayerTraining {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Validation accuracy is reported every this many steps (and at the last). */
  evalEvery: number;
  /** Called after every step; `validation` is set on evaluation steps. */
  onStep?: (info: { step: number; loss: number; validation?: number }) => void | Promise<void>;
  /** Checked before every step: true ends the training there (with a checkpoint). */
  shouldStop?: () => boolean;
  /** Writes a checkpoint of the layer at a global step: every `checkpointEvery` steps and at the end. */
  save?: (step: number) => Promise<string>;
  checkpointEvery?: number;
}

/**
 * retrain.py's loop: each step a random batch of training bottlenecks (drawn with replacement,
 * so any set size works), one gradient-descent update. Step n's batch is drawn from (seed, n)
 * alone, so training resumed `fromStep` (the restored layer's global step) ends as an
 * uninterrupted run does.
 */
export async function trainFinalLayer(layer: FinalLayer, training: LabelledVectors, validation: LabelledVectors, opts: FinalLayerTraining, fromStep = 0): Promise<StepLoopResult> {
  if (!training.vectors.length) throw new Error('no training bottlenecks');
  const trainable = layer.store.trainable();
  const optimizer = createOptimizer('sgd');
  const size = layer.bottleneckSize;
  const xs = new Float32Array(opts.batchSize * size);
  const ys = new Int32Array(opts.batchSize);
  try {
    return await runSteps({
      fromStep,
      toStep: opts.steps,
      step: (step) => {
        // Batch n + 1 (1-based, retrain.py's step number) comes from (seed, n + 1).
        const random = new Random(deriveSeed(opts.seed, step + 1));
        for (let i = 0; i < opts.batchSize; i++) {
          const pick = Math.floor(random.next() * training.vectors.length);
          xs.set(training.vectors[pick], i * size);
          ys[i] = training.labels[pick];
        }
        return tf.tidy(() => {
          const { value, grads } = tf.variableGrads(
            () => sparseSoftmaxCrossEntropy(layer.logits(tf.tensor2d(xs, [opts.batchSize, size])), tf.tensor1d(ys, 'int32')),
            trainable.map((v) => v.variable),
          );
          optimizer.apply(trainable, trainable.map((v) => grads[v.variable.name]), opts.learningRate);
          return value.dataSync()[0];
        });
      },
      shouldStop: opts.shouldStop,
      afterStep: (step, loss) => {
        const evaluate = step % opts.evalEvery === 0 || step === opts.steps;
        return opts.onStep?.({ step, loss: loss!, validation: evaluate ? layer.accuracy(validation) : undefined });
      },
      checkpointEvery: opts.checkpointEvery,
      save: opts.save,
    });
  } finally {
    optimizer.dispose();
  }
}
