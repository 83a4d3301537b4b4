import * as tf from '@tensorflow/tfjs';

/**
 * tf.train.AdagradOptimizer(learning_rate, initial_accumulator_value=0.1) with TensorFlow's
 * ApplyAdagrad update (no epsilon, unlike tfjs's own Adagrad):
 *   accum += g²;   var -= lr · g / sqrt(accum)
 * The accumulators are the `<var>/Adagrad` slots of a TensorFlow checkpoint.
 */
export class Adagrad {
  private readonly accumulators = new Map<string, tf.Variable>();

  constructor(
    readonly learningRate: number,
    readonly initialAccumulatorValue = 0.1,
  ) {}

  /** Creates the slot of each named variable (filled with the initial value) if missing. */
  createSlots(variables: ReadonlyMap<string, tf.Variable>): void {
    for (const [name, v] of variables) this.slotFor(name, v);
  }

  /** `grads` as tf.variableGrads returns them (keyed by the tfjs variable name). */
  apply(variables: ReadonlyMap<string, tf.Variable>, grads: tf.NamedTensorMap): void {
    tf.tidy(() => {
      for (const [name, v] of variables) {
        const g = grads[v.name];
        if (!g) continue;
        const accum = this.slotFor(name, v);
        accum.assign(tf.add(accum, tf.square(g)));
        v.assign(tf.sub(v, tf.mul(tf.mul(g, this.learningRate), tf.rsqrt(accum))));
      }
    });
  }

  /** Slot variables by TensorFlow name: `<var>/Adagrad`. */
  slots(): Map<string, tf.Variable> {
    return new Map([...this.accumulators].map(([name, s]) => [`${name}/Adagrad`, s]));
  }

  dispose(): void {
    this.accumulators.forEach((s) => s.dispose());
    this.accumulators.clear();
  }

  private slotFor(name: string, like: tf.Variable): tf.Variable {
    let s = this.accumulators.get(name);
    if (!s) {
      s = tf.tidy(() => tf.variable(tf.fill(like.shape, this.initialAccumulatorValue), false));
      this.accumulators.set(name, s);
    }
    return s;
  }
}
