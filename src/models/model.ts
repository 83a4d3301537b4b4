import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import type { AugmentKind } from '../data/augment.js';
import type { Regularizer } from '../variables/regularizers.js';
import { VariableStore } from '../variables/store.js';
import { deriveSeed } from '../pipeline/random.js';
import { execute } from './execute.js';
import { GraphBuilder, type Graph, type GraphNode } from './graph.js';
import type { TrainDefaults } from '../train/config.js';

export interface BuildOptions {
  /** Applied to the weights the model chooses to regularise (the book: all fc weights). */
  regularizer?: Regularizer;
}

/** A network in the registry: how to build its graph, and the training defaults the book used. */
export interface ModelDefinition {
  name: string;
  description: string;
  /** Records the inference graph; returns the input placeholder and the logits node. */
  build(b: GraphBuilder, opts: BuildOptions): { input: string; logits: string };
  /** Per-model training defaults (learning rate, optimizer, batch size, steps…). */
  defaults: Partial<TrainDefaults>;
  /** The augmentation preset the model's recipe trains with unless told otherwise; absent = none. */
  augment?: AugmentKind;
}

/** A built model: its variables (in a VariableStore) and its graph. */
export class Model {
  /** Training calls made without a step: each draws other dropout masks. */
  private unsteppedCalls = 0;

  constructor(
    readonly definition: ModelDefinition,
    readonly store: VariableStore,
    readonly graph: Graph,
    readonly input: string,
    readonly output: string,
    /** The run's seed: initial weights, and with the global step every dropout mask. */
    readonly seed = 1,
  ) {}

  static build(definition: ModelDefinition, opts: BuildOptions & { seed?: number } = {}): Model {
    const seed = opts.seed ?? 1;
    const store = new VariableStore(seed);
    const builder = new GraphBuilder(store);
    const { input, logits } = definition.build(builder, opts);
    return new Model(definition, store, builder.graph, input, logits, seed);
  }

  get name(): string {
    return this.definition.name;
  }

  /**
   * Logits for a batch of flattened 28×28 images ([n, 784] in [0, 1]). When training, the dropout
   * masks come from (seed, `step`, which dropout) alone — no state carried between calls — so a
   * run resumed at a step draws the masks the uninterrupted run drew there.
   */
  logits(images: tf.Tensor2D, training = false, step?: number): tf.Tensor2D {
    const [out] = execute(this.graph, { [this.input]: images }, [this.output], {
      training,
      variable: (name) => this.variableTensor(name),
      dropoutSeed: this.dropoutSeeder(step),
      batchStatistics: training ? (node, mean, variance) => this.moveStatistics(node, mean, variance) : undefined,
    });
    return out as tf.Tensor2D;
  }

  /** A training call's batch statistics move the node's moving mean and variance: m ← m − (1 − momentum)·(m − batch). */
  private moveStatistics(node: GraphNode, mean: tf.Tensor1D, variance: tf.Tensor1D): void {
    const rate = 1 - (node.attrs.momentum as number);
    const [movingMean, movingVariance] = [node.inputs[3], node.inputs[4]].map((name) => this.variableTensor(name) as tf.Variable);
    tf.tidy(() => {
      movingMean.assign(tf.sub(movingMean, tf.mul(tf.sub(movingMean, mean), rate)));
      movingVariance.assign(tf.sub(movingVariance, tf.mul(tf.sub(movingVariance, variance), rate)));
    });
  }

  /** The seeds of a training call's dropout masks in graph order, from (seed, `step`) alone. */
  dropoutSeeder(step?: number): () => number {
    const stepSeed = deriveSeed(this.seed, step ?? 0x80000000 + this.unsteppedCalls++);
    let dropouts = 0;
    return () => deriveSeed(stepSeed, dropouts++);
  }

  private variableTensor(name: string): tf.Tensor {
    const entry = this.store.get(name);
    if (!entry) throw new UserError(`model ${this.name} has no variable ${name}`);
    return entry.variable;
  }

  dispose(): void {
    this.store.dispose();
  }
}
