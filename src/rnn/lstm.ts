import * as tf from '@tensorflow/tfjs';
import { Random } from '../util/random.js';
import { zeros } from '../variables/initializers.js';
import type { VariableStore } from '../variables/store.js';
import { glorotUniformValues } from './initializers.js';

/** tf.nn.rnn_cell.LSTMStateTuple: the cell state c and the output h, each [batch, units]. */
export interface LSTMStateTuple {
  c: tf.Tensor2D;
  h: tf.Tensor2D;
}

/** What building a cell's variables needs: the store (scopes, names) and the initialiser's random stream. */
export interface BuildContext {
  store: VariableStore;
  random: Random;
}

/**
 * Creates a variable in the store's current scope the way TensorFlow 1.x's get_variable does with
 * no initializer (glorot_uniform) or a zeros initializer. Reusing an existing one keeps its value.
 */
function getVariable(ctx: BuildContext, name: string, shape: number[], init: 'glorot_uniform' | 'zeros'): tf.Variable {
  const { store } = ctx;
  const full = store.scopeName ? `${store.scopeName}/${name}` : name;
  const existed = store.get(full) !== undefined;
  // The store's Initializer type has no glorot_uniform: create as zeros, then fill.
  const variable = store.getVariable(name, shape, { initializer: zeros() });
  if (!existed && init === 'glorot_uniform') {
    tf.tidy(() => variable.assign(tf.tensor(glorotUniformValues(shape, ctx.random), shape)));
  }
  return variable;
}

/**
 * tf.nn.rnn_cell.BasicLSTMCell (state_is_tuple=True, activation tanh). One fused kernel
 * [input_depth + units, 4·units] multiplies concat([x, h]); the four column blocks are the gates
 * in TensorFlow's order i (input), j (new input), f (forget), o (output). forget_bias is added to f
 * inside the cell (so it is not part of the bias variable, which starts at zero):
 *   c' = c·σ(f + forget_bias) + σ(i)·tanh(j),   h' = tanh(c')·σ(o)
 * Variables: `<scope>/basic_lstm_cell/kernel` (glorot_uniform, TF's default) and `.../bias` (zeros).
 */
export class BasicLSTMCell {
  kernel?: tf.Variable;
  bias?: tf.Variable;

  constructor(
    readonly units: number,
    readonly forgetBias = 1.0,
  ) {}

  get stateSize(): number {
    return this.units;
  }

  /** Creates (or, in a reusing scope, fetches) the variables for inputs of `inputDepth` features. */
  build(ctx: BuildContext, inputDepth: number): void {
    ctx.store.variableScope('basic_lstm_cell', () => {
      this.kernel = getVariable(ctx, 'kernel', [inputDepth + this.units, 4 * this.units], 'glorot_uniform');
      this.bias = getVariable(ctx, 'bias', [4 * this.units], 'zeros');
    });
  }

  zeroState(batchSize: number): LSTMStateTuple {
    return { c: tf.zeros([batchSize, this.units]), h: tf.zeros([batchSize, this.units]) };
  }

  /** One time step in TensorFlow's layout: input [batch, depth], state [batch, units] → (output, new state). Wrap in tf.tidy. */
  call(input: tf.Tensor2D, state: LSTMStateTuple): [tf.Tensor2D, LSTMStateTuple] {
    const next = this.stepT(this.fusedWeights(), input.transpose(), transposeState(state));
    const c = next.c.transpose() as tf.Tensor2D;
    const h = next.h.transpose() as tf.Tensor2D;
    return [h, { c, h }];
  }

  /**
   * The kernel with the bias appended as its last row and forget_bias folded into the f block of
   * that row: [depth + units + 1, 4·units]. Multiplying [x; h; 1] by it gives the gate
   * pre-activations including both biases, in one matMul with no broadcasting add (which the
   * tfjs cpu backend does slowly).
   */
  fusedWeights(): tf.Tensor2D {
    if (!this.kernel || !this.bias) throw new Error('BasicLSTMCell: build() before call()');
    const u = this.units;
    const forget = new Float32Array(4 * u).fill(this.forgetBias, 2 * u, 3 * u);
    return tf.concat([this.kernel, tf.add(this.bias, tf.tensor1d(forget)).reshape([1, 4 * u])], 0) as tf.Tensor2D;
  }

  /**
   * One step with everything transposed — x [depth, batch], c and h [units, batch] — so that the
   * four gates are contiguous row blocks (cheap to split) rather than column blocks.
   */
  stepT(fused: tf.Tensor2D, xT: tf.Tensor2D, state: LSTMStateTuple): LSTMStateTuple {
    const batch = xT.shape[1];
    const z = tf.concat([xT, state.h, tf.ones([1, batch])], 0);
    const gates = tf.matMul(fused, z, true, false);
    const [i, j, f, o] = tf.split(gates, 4, 0);
    const c = tf.add(tf.mul(state.c, tf.sigmoid(f)), tf.mul(tf.sigmoid(i), tf.tanh(j))) as tf.Tensor2D;
    const h = tf.mul(tf.tanh(c), tf.sigmoid(o)) as tf.Tensor2D;
    return { c, h };
  }

  variables(): tf.Variable[] {
    return this.kernel && this.bias ? [this.kernel, this.bias] : [];
  }
}

/**
 * tf.nn.rnn_cell.MultiRNNCell: cells stacked so that each layer's output is the next one's input,
 * each in its own scope `multi_rnn_cell/cell_<k>` (hence separate variables per layer).
 */
export class MultiRNNCell {
  constructor(readonly cells: BasicLSTMCell[]) {
    if (cells.length === 0) throw new Error('MultiRNNCell needs at least one cell');
  }

  get outputSize(): number {
    return this.cells[this.cells.length - 1].units;
  }

  get built(): boolean {
    return this.cells.every((c) => c.kernel !== undefined);
  }

  build(ctx: BuildContext, inputDepth: number): void {
    ctx.store.variableScope('multi_rnn_cell', () => {
      let depth = inputDepth;
      this.cells.forEach((cell, k) => {
        ctx.store.variableScope(`cell_${k}`, () => cell.build(ctx, depth));
        depth = cell.units;
      });
    });
  }

  zeroState(batchSize: number): LSTMStateTuple[] {
    return this.cells.map((c) => c.zeroState(batchSize));
  }

  /** One time step in TensorFlow's layout: the top layer's output and every layer's new state. */
  call(input: tf.Tensor2D, states: LSTMStateTuple[]): [tf.Tensor2D, LSTMStateTuple[]] {
    const next = this.stepT(this.fusedWeights(), input.transpose(), states.map(transposeState));
    const back = next.map(transposeState);
    return [back[back.length - 1].h, back];
  }

  fusedWeights(): tf.Tensor2D[] {
    return this.cells.map((c) => c.fusedWeights());
  }

  /** One step in the transposed layout (see BasicLSTMCell.stepT). */
  stepT(fused: tf.Tensor2D[], xT: tf.Tensor2D, states: LSTMStateTuple[]): LSTMStateTuple[] {
    let current = xT;
    return this.cells.map((cell, k) => {
      const state = cell.stepT(fused[k], current, states[k]);
      current = state.h;
      return state;
    });
  }

  variables(): tf.Variable[] {
    return this.cells.flatMap((c) => c.variables());
  }
}

export interface RnnResult {
  /** The top layer's output at every time step, each [batch, units] (tf.stack(outputs(), 1) for TF's layout). */
  outputs(): tf.Tensor2D[];
  /** The top layer's output at the last time step, [batch, units] (= outputs[:, -1, :]). */
  lastOutput: tf.Tensor2D;
  finalState: LSTMStateTuple[];
}

/**
 * tf.nn.dynamic_rnn(cell, inputs, dtype=float32) with batch-major inputs [batch, time, depth] and a
 * zero initial state, unrolled over time; tfjs autodiff then gives back-propagation through time.
 * Variables are created on first use under `<current scope>/rnn/...`, as TensorFlow names them.
 */
export function dynamicRnn(cell: MultiRNNCell, inputs: tf.Tensor3D, ctx: BuildContext): RnnResult {
  const [batch, time, depth] = inputs.shape;
  if (!cell.built) ctx.store.variableScope('rnn', () => cell.build(ctx, depth));
  const fused = cell.fusedWeights();
  // [time, depth, batch]: each step's input arrives transposed, as stepT wants it.
  const stepsT = time === 1 ? [inputs.reshape([batch, depth]).transpose() as tf.Tensor2D] : tf.unstack(tf.transpose(inputs, [1, 2, 0])).map((t) => t as tf.Tensor2D);
  let states = cell.cells.map((c) => ({ c: tf.zeros([c.units, batch]), h: tf.zeros([c.units, batch]) }) as LSTMStateTuple);
  const outputsT: tf.Tensor2D[] = [];
  for (const xT of stepsT) {
    states = cell.stepT(fused, xT, states);
    outputsT.push(states[states.length - 1].h);
  }
  return {
    outputs: () => outputsT.map((o) => o.transpose()),
    lastOutput: outputsT[outputsT.length - 1].transpose(),
    finalState: states.map(transposeState),
  };
}

function transposeState(s: LSTMStateTuple): LSTMStateTuple {
  return { c: s.c.transpose(), h: s.h.transpose() };
}
