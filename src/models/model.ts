import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import type { Regularizer } from '../variables/regularizers.js';
import { VariableStore } from '../variables/store.js';
import { execute } from './execute.js';
import { GraphBuilder, type Graph } from './graph.js';
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
}

/** A built model: its variables (in a VariableStore) and its graph. */
export class Model {
  private dropoutCalls = 0;

  constructor(
    readonly definition: ModelDefinition,
    readonly store: VariableStore,
    readonly graph: Graph,
    readonly input: string,
    readonly output: string,
  ) {}

  static build(definition: ModelDefinition, opts: BuildOptions & { seed?: number } = {}): Model {
    const store = new VariableStore(opts.seed ?? 1);
    const builder = new GraphBuilder(store);
    const { input, logits } = definition.build(builder, opts);
    return new Model(definition, store, builder.graph, input, logits);
  }

  get name(): string {
    return this.definition.name;
  }

  /** Logits for a batch of flattened 28×28 images ([n, 784] in [0, 1]). */
  logits(images: tf.Tensor2D, training = false): tf.Tensor2D {
    const [out] = execute(this.graph, { [this.input]: images }, [this.output], {
      training,
      variable: (name) => this.variableTensor(name),
      dropoutSeed: () => 1 + this.dropoutCalls++,
    });
    return out as tf.Tensor2D;
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
