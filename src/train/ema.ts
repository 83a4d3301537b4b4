import * as tf from '@tensorflow/tfjs';
import type { VariableEntry } from '../variables/store.js';
import { inPlaceUpdates } from '../backend/in-place-updates.js';

export const EMA_SUFFIX = 'ExponentialMovingAverage';

/**
 * tf.train.ExponentialMovingAverage with num_updates: each apply() moves every shadow
 * towards its variable, shadow -= (1 - d)(shadow - v), d = min(decay, (1 + n)/(10 + n)).
 * Shadows start at the variable's value when created, as in TensorFlow.
 */
export class ExponentialMovingAverage {
  readonly shadows = new Map<string, tf.Variable>();

  constructor(readonly decay: number) {}

  /** Effective decay for num_updates = n. */
  effectiveDecay(numUpdates?: number): number {
    return numUpdates === undefined ? this.decay : Math.min(this.decay, (1 + numUpdates) / (10 + numUpdates));
  }

  static shadowName(variableName: string): string {
    return `${variableName}/${EMA_SUFFIX}`;
  }

  /** The step size of an update, 1 − effective decay, in float32 as TensorFlow computes it (reproduces its digits, 5.454999). */
  oneMinusDecay(numUpdates?: number): number {
    return Math.fround(1 - Math.fround(this.effectiveDecay(numUpdates)));
  }

  /** Creates shadows for these variables (once) and applies one update. */
  apply(variables: VariableEntry[], numUpdates?: number): void {
    const oneMinusDecay = this.oneMinusDecay(numUpdates);
    for (const v of variables) {
      const shadow = this.shadowOf(v);
      const fused = inPlaceUpdates(shadow, v.variable);
      if (fused) {
        fused.movingAverage(shadow, v.variable, oneMinusDecay);
      } else {
        tf.tidy(() => shadow.assign(tf.sub(shadow, tf.mul(oneMinusDecay, tf.sub(shadow, v.variable)))));
      }
    }
  }

  /** Creates the shadows (equal to the variables' current values) without updating them. */
  createShadows(variables: VariableEntry[]): void {
    variables.forEach((v) => this.shadowOf(v));
  }

  shadowOf(v: VariableEntry): tf.Variable {
    let shadow = this.shadows.get(v.name);
    if (!shadow) {
      shadow = tf.tidy(() => tf.variable(v.variable.clone(), false));
      this.shadows.set(v.name, shadow);
    }
    return shadow;
  }

  /** Checkpoint entries for the shadows: `NAME/ExponentialMovingAverage` → value. */
  namedShadows(): Map<string, tf.Variable> {
    return new Map([...this.shadows].map(([name, s]) => [ExponentialMovingAverage.shadowName(name), s]));
  }

  /**
   * TensorFlow's variables_to_restore(): a map from checkpoint names to variables in which
   * averaged variables load their shadow values and the others their own.
   */
  static variablesToRestore(variables: VariableEntry[], averaged: (v: VariableEntry) => boolean = (v) => v.trainable): Record<string, tf.Variable> {
    const map: Record<string, tf.Variable> = {};
    for (const v of variables) map[averaged(v) ? ExponentialMovingAverage.shadowName(v.name) : v.name] = v.variable;
    return map;
  }

  dispose(): void {
    for (const s of this.shadows.values()) s.dispose();
    this.shadows.clear();
  }
}
