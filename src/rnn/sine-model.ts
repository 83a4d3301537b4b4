import * as tf from '@tensorflow/tfjs';
import { Random } from '../util/random.js';
import { zeros } from '../variables/initializers.js';
import { VariableStore } from '../variables/store.js';
import { glorotUniformValues } from './initializers.js';
import { BasicLSTMCell, dynamicRnn, MultiRNNCell, type BuildContext } from './lstm.js';

/**
 * How a window of T samples enters the LSTM. 'book': as the book's code does it — generate_data
 * yields X of shape [N, 1, T], so dynamic_rnn sees ONE time step with T features. 'sequence': T
 * time steps of one feature each ([N, T, 1]), a genuinely recurrent reading of the window.
 */
export type SineLayout = 'book' | 'sequence';

export interface SineModelOptions {
  hiddenSize: number;
  numLayers: number;
  timeSteps: number;
  layout: SineLayout;
  seed: number;
}

/**
 * The book's lstm_model under variable_scope("model"): MultiRNNCell of BasicLSTMCells →
 * dynamic_rnn → last output → fully_connected(1, activation_fn=None). Variable names:
 *   model/rnn/multi_rnn_cell/cell_<k>/basic_lstm_cell/{kernel,bias}
 *   model/fully_connected/{weights,biases}
 */
export class SineModel {
  readonly store: VariableStore;
  readonly cell: MultiRNNCell;
  readonly fcWeights: tf.Variable;
  readonly fcBiases: tf.Variable;
  private readonly ctx: BuildContext;

  constructor(readonly options: SineModelOptions) {
    this.store = new VariableStore(options.seed);
    this.ctx = { store: this.store, random: new Random(options.seed) };
    this.cell = new MultiRNNCell(Array.from({ length: options.numLayers }, () => new BasicLSTMCell(options.hiddenSize)));
    const depth = this.inputShape[1];
    // fully_connected's defaults: weights xavier_initializer() (= glorot uniform), biases zeros.
    const fc = this.store.variableScope('model', () => {
      this.store.variableScope('rnn', () => this.cell.build(this.ctx, depth));
      return this.store.variableScope('fully_connected', () => ({
        weights: this.store.getVariable('weights', [options.hiddenSize, 1], { initializer: zeros() }),
        biases: this.store.getVariable('biases', [1], { initializer: zeros() }),
      }));
    });
    tf.tidy(() => fc.weights.assign(tf.tensor(glorotUniformValues([options.hiddenSize, 1], this.ctx.random), [options.hiddenSize, 1])));
    this.fcWeights = fc.weights;
    this.fcBiases = fc.biases;
  }

  /** [time steps, features] of one window under this layout. */
  get inputShape(): [number, number] {
    return this.options.layout === 'book' ? [1, this.options.timeSteps] : [this.options.timeSteps, 1];
  }

  /** Predictions [batch, 1] for windows given as a flat [batch · T] array or tensor. */
  predict(windows: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const [steps, depth] = this.inputShape;
      const batch = windows.size / (steps * depth);
      const x = windows.reshape([batch, steps, depth]) as tf.Tensor3D;
      const { lastOutput } = dynamicRnn(this.cell, x, this.ctx);
      return tf.add(tf.matMul(lastOutput, this.fcWeights), this.fcBiases) as tf.Tensor2D;
    });
  }

  /** tf.losses.mean_squared_error(labels, predictions): mean of the squared errors. */
  loss(windows: tf.Tensor, labels: tf.Tensor): tf.Scalar {
    return tf.tidy(() => tf.mean(tf.square(tf.sub(this.predict(windows), labels.reshape([-1, 1])))) as tf.Scalar);
  }

  /** Trainable variables by TensorFlow name (checkpoint keys), in creation order. */
  variables(): Map<string, tf.Variable> {
    return new Map(this.store.trainable().map((e) => [e.name, e.variable]));
  }

  dispose(): void {
    this.store.dispose();
  }
}
