import * as tf from '@tensorflow/tfjs';
import type { OptimizerName } from './config.js';
import type { VariableEntry } from '../variables/store.js';
import type { AdamStepArgs } from '../backend/cnn-step.js';
import { inPlaceUpdates } from '../backend/in-place-updates.js';

/**
 * TensorFlow 1.x optimizers with TensorFlow's update formulas and slot names, so a checkpoint
 * can hold (and resume) their state: `W/Momentum`, `W/Adam`, `W/Adam_1`, `beta1_power`, `beta2_power`,
 * `W/Adagrad`.
 */
export interface Optimizer {
  readonly name: OptimizerName;
  /**
   * Applies gradients (same order as variables) with the given learning rate. `decays[i]`, where
   * given, is an L2 coefficient λ folded into variable i's gradient (g + λ·w, the gradient of
   * λ·Σw²/2), so the caller can leave its L2 term off the gradient tape. Returns that L2 term,
   * Σ λ·Σw²/2 over the decayed variables at their values before the update (0 without decays).
   */
  apply(variables: VariableEntry[], grads: tf.Tensor[], learningRate: number, decays?: number[]): number;
  /** Creates the slot variables (zeros; Adam's beta powers at β) before training or a restore. */
  createSlots(variables: VariableEntry[]): void;
  /** Optimizer state for checkpoints, by TensorFlow name. */
  slots(): Map<string, tf.Variable>;
  /**
   * Adam only: `update` is given this step's slots (in the variables' order) and coefficients and
   * updates the variables in place itself (a whole training step in one native call); then the
   * beta powers advance as after apply().
   */
  applyInPlace?(variables: VariableEntry[], learningRate: number, update: (step: AdamInPlaceStep) => void): void;
  dispose(): void;
}

/** TensorFlow's Adam step for an in-place update: lr·m·c1 / (√(v·c2) + ε̂), c1 = 1/(1-β1ᵗ), c2 = 1/(1-β2ᵗ), ε̂ = ε·√c2. */
export type AdamInPlaceStep = AdamStepArgs;

/** g + λ·w as tensor ops (the path without fused updates). */
function withDecay(grad: tf.Tensor, v: tf.Variable, decay: number): tf.Tensor {
  return decay === 0 ? grad : tf.add(grad, tf.mul(decay, v));
}

/** λ·Σw²/2 read back (the path without fused updates; call before updating w). */
function l2Term(v: tf.Variable, decay: number): number {
  return decay === 0 ? 0 : tf.tidy(() => tf.mul(decay / 2, tf.sum(tf.square(v))).dataSync()[0]);
}

/** An optimizer whose state is slot variables, kept by TensorFlow name. */
abstract class WithSlots {
  protected readonly state = new Map<string, tf.Variable>();
  slots(): Map<string, tf.Variable> {
    return this.state;
  }
  dispose(): void {
    this.state.forEach((s) => s.dispose());
  }
}

class GradientDescent implements Optimizer {
  readonly name = 'sgd' as const;
  apply(variables: VariableEntry[], grads: tf.Tensor[], lr: number, decays: number[] = []): number {
    let l2 = 0;
    variables.forEach((v, i) => {
      const decay = decays[i] ?? 0;
      const fused = inPlaceUpdates(v.variable, grads[i]);
      if (fused) {
        l2 += decay * fused.sgd(v.variable, grads[i], lr, decay);
        return;
      }
      l2 += l2Term(v.variable, decay);
      tf.tidy(() => v.variable.assign(tf.sub(v.variable, tf.mul(lr, withDecay(grads[i], v.variable, decay)))));
    });
    return l2;
  }
  createSlots(): void {}
  slots(): Map<string, tf.Variable> {
    return new Map();
  }
  dispose(): void {}
}

function slotFor(slots: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
  let s = slots.get(name);
  if (!s) {
    s = tf.tidy(() => tf.variable(tf.zerosLike(like), false));
    slots.set(name, s);
  }
  return s;
}

/** accum = momentum·accum + g; v -= lr·accum (tf.train.MomentumOptimizer, no Nesterov). */
class Momentum extends WithSlots implements Optimizer {
  readonly name = 'momentum' as const;
  constructor(private readonly momentum: number) {
    super();
  }
  createSlots(variables: VariableEntry[]): void {
    variables.forEach((v) => slotFor(this.state, `${v.name}/Momentum`, v.variable));
  }
  apply(variables: VariableEntry[], grads: tf.Tensor[], lr: number, decays: number[] = []): number {
    let l2 = 0;
    variables.forEach((v, i) => {
      const decay = decays[i] ?? 0;
      const accum = slotFor(this.state, `${v.name}/Momentum`, v.variable);
      const fused = inPlaceUpdates(v.variable, grads[i]);
      if (fused) {
        l2 += decay * fused.momentum(v.variable, grads[i], accum, lr, this.momentum, decay);
        return;
      }
      l2 += l2Term(v.variable, decay);
      tf.tidy(() => {
        accum.assign(tf.add(tf.mul(this.momentum, accum), withDecay(grads[i], v.variable, decay)));
        v.variable.assign(tf.sub(v.variable, tf.mul(lr, accum)));
      });
    });
    return l2;
  }
}

/** tf.train.AdamOptimizer (β1 0.9, β2 0.999, ε 1e-8), with its beta-power accumulators. */
class Adam extends WithSlots implements Optimizer {
  readonly name = 'adam' as const;
  constructor(
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    super();
  }
  createSlots(variables: VariableEntry[]): void {
    if (!this.state.has('beta1_power')) {
      this.state.set('beta1_power', tf.variable(tf.scalar(this.beta1), false));
      this.state.set('beta2_power', tf.variable(tf.scalar(this.beta2), false));
    }
    for (const v of variables) {
      slotFor(this.state, `${v.name}/Adam`, v.variable);
      slotFor(this.state, `${v.name}/Adam_1`, v.variable);
    }
  }
  apply(variables: VariableEntry[], grads: tf.Tensor[], lr: number, decays: number[] = []): number {
    this.createSlots(variables);
    let l2 = 0;
    tf.tidy(() => {
      const b1p = this.state.get('beta1_power')!;
      const b2p = this.state.get('beta2_power')!;
      const [p1, p2] = [b1p.dataSync()[0], b2p.dataSync()[0]];
      const lrT = (lr * Math.sqrt(1 - p2)) / (1 - p1);
      variables.forEach((v, i) => {
        const m = slotFor(this.state, `${v.name}/Adam`, v.variable);
        const s = slotFor(this.state, `${v.name}/Adam_1`, v.variable);
        const decay = decays[i] ?? 0;
        const fused = inPlaceUpdates(v.variable, grads[i]);
        if (fused) {
          // The kernel computes lr·m·c1 / (sqrt(v·c2) + ε'); with c1 = 1/(1-β1ᵗ), c2 = 1/(1-β2ᵗ) and
          // ε' = ε·sqrt(c2) that is exactly TensorFlow's lr·sqrt(1-β2ᵗ)/(1-β1ᵗ) · m / (sqrt(v) + ε).
          const c1 = 1 / (1 - p1);
          const c2 = 1 / (1 - p2);
          l2 += decay * fused.adam(v.variable, grads[i], m, s, lr, this.beta1, this.beta2, this.epsilon * Math.sqrt(c2), c1, c2, decay);
          return;
        }
        l2 += l2Term(v.variable, decay);
        const g = withDecay(grads[i], v.variable, decay);
        m.assign(tf.add(tf.mul(this.beta1, m), tf.mul(1 - this.beta1, g)));
        s.assign(tf.add(tf.mul(this.beta2, s), tf.mul(1 - this.beta2, tf.square(g))));
        v.variable.assign(tf.sub(v.variable, tf.div(tf.mul(lrT, m), tf.add(tf.sqrt(s), this.epsilon))));
      });
      b1p.assign(tf.scalar(p1 * this.beta1));
      b2p.assign(tf.scalar(p2 * this.beta2));
    });
    return l2;
  }
  applyInPlace(variables: VariableEntry[], lr: number, update: (step: AdamInPlaceStep) => void): void {
    this.createSlots(variables);
    const b1p = this.state.get('beta1_power')!;
    const b2p = this.state.get('beta2_power')!;
    const [p1, p2] = [b1p.dataSync()[0], b2p.dataSync()[0]];
    const c1 = 1 / (1 - p1);
    const c2 = 1 / (1 - p2);
    update({
      m: variables.map((v) => this.state.get(`${v.name}/Adam`)!),
      v: variables.map((v) => this.state.get(`${v.name}/Adam_1`)!),
      lr, beta1: this.beta1, beta2: this.beta2, epsilonHat: this.epsilon * Math.sqrt(c2), c1, c2,
    });
    tf.tidy(() => {
      b1p.assign(tf.scalar(p1 * this.beta1));
      b2p.assign(tf.scalar(p2 * this.beta2));
    });
  }
}

/**
 * tf.train.AdagradOptimizer(learning_rate, initial_accumulator_value=0.1) with TensorFlow's
 * ApplyAdagrad update (no epsilon, unlike tfjs's own Adagrad):
 *   accum += g²;   var -= lr · g / sqrt(accum)
 * A variable without a gradient is left as it is.
 */
class Adagrad extends WithSlots implements Optimizer {
  readonly name = 'adagrad' as const;
  constructor(private readonly initialAccumulatorValue = 0.1) {
    super();
  }
  createSlots(variables: VariableEntry[]): void {
    variables.forEach((v) => this.slotFor(v));
  }
  apply(variables: VariableEntry[], grads: Array<tf.Tensor | undefined>, lr: number, decays: number[] = []): number {
    let l2 = 0;
    variables.forEach((v, i) => {
      const grad = grads[i];
      if (!grad) return;
      const decay = decays[i] ?? 0;
      const accum = this.slotFor(v);
      l2 += l2Term(v.variable, decay);
      tf.tidy(() => {
        const g = withDecay(grad, v.variable, decay);
        accum.assign(tf.add(accum, tf.square(g)));
        v.variable.assign(tf.sub(v.variable, tf.mul(tf.mul(g, lr), tf.rsqrt(accum))));
      });
    });
    return l2;
  }
  private slotFor(v: VariableEntry): tf.Variable {
    const name = `${v.name}/Adagrad`;
    let s = this.state.get(name);
    if (!s) {
      s = tf.tidy(() => tf.variable(tf.fill(v.variable.shape, this.initialAccumulatorValue), false));
      this.state.set(name, s);
    }
    return s;
  }
}

export interface OptimizerOptions {
  /** Momentum's coefficient. */
  momentum?: number;
  /** Adam's β1 and β2 (default TensorFlow's 0.9 and 0.999). */
  beta1?: number;
  beta2?: number;
  /** Adagrad's accumulator start (default TensorFlow's 0.1). */
  initialAccumulatorValue?: number;
}

export function createOptimizer(name: OptimizerName, opts: OptimizerOptions = {}): Optimizer {
  switch (name) {
    case 'sgd':
      return new GradientDescent();
    case 'momentum':
      if (opts.momentum === undefined) throw new Error('the momentum optimizer needs a momentum');
      return new Momentum(opts.momentum);
    case 'adam':
      return new Adam(opts.beta1, opts.beta2);
    case 'adagrad':
      return new Adagrad(opts.initialAccumulatorValue);
  }
}
