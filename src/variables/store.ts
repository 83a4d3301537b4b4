import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { Random } from '../util/random.js';
import { initialValues, zeros, type Initializer } from './initializers.js';
import type { Regularizer } from './regularizers.js';

/** `reuse` as in tf.variable_scope: false creates, true fetches, 'auto' does whichever applies. */
export type Reuse = boolean | 'auto';

export interface VariableOptions {
  initializer?: Initializer;
  regularizer?: Regularizer;
  trainable?: boolean;
}

export interface VariableEntry {
  /** Full name without TensorFlow's `:0`, e.g. `layer1/weights` — the checkpoint key. */
  name: string;
  shape: number[];
  initializer: Initializer;
  regularizer?: Regularizer;
  trainable: boolean;
  variable: tf.Variable;
}

export const GraphKeys = {
  TRAINABLE_VARIABLES: 'trainable_variables',
  GLOBAL_VARIABLES: 'variables',
  REGULARIZATION_LOSSES: 'regularization_losses',
  LOSSES: 'losses',
} as const;

interface Scope {
  name: string;
  reuse: Reuse;
}

/**
 * TensorFlow 1.x variable management: variable_scope / get_variable / collections.
 * Names nest (`foo/bar/v`); creating an existing name outside reuse is an error, fetching a
 * missing one under reuse is an error; reuse is inherited by inner scopes and cannot be
 * switched off inside a reusing scope (as in TensorFlow).
 */
export class VariableStore {
  private readonly entries = new Map<string, VariableEntry>();
  private readonly collections = new Map<string, unknown[]>();
  private readonly scopes: Scope[] = [];
  private readonly random: Random;

  constructor(seed = 1) {
    this.random = new Random(seed);
  }

  /** The current scope prefix, e.g. `foo/bar` (empty at top level). */
  get scopeName(): string {
    return this.scopes.map((s) => s.name).join('/');
  }

  get reuse(): Reuse {
    return this.scopes.length ? this.scopes[this.scopes.length - 1].reuse : false;
  }

  variableScope<T>(name: string, fn: () => T): T;
  variableScope<T>(name: string, opts: { reuse?: Reuse }, fn: () => T): T;
  variableScope<T>(name: string, a: { reuse?: Reuse } | (() => T), b?: () => T): T {
    const opts = typeof a === 'function' ? {} : a;
    const fn = (typeof a === 'function' ? a : b) as () => T;
    const inherited = this.reuse;
    // Inner scopes inherit reuse=true; asking for false inside a reusing scope keeps true.
    const reuse: Reuse = inherited === true ? true : (opts.reuse ?? inherited);
    this.scopes.push({ name, reuse });
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  getVariable(name: string, shape: number[], opts: VariableOptions = {}): tf.Variable {
    const full = this.scopeName ? `${this.scopeName}/${name}` : name;
    const existing = this.entries.get(full);
    const reuse = this.reuse;
    if (reuse === true) {
      if (!existing) {
        throw new UserError(`Variable ${full} does not exist, or was not created with getVariable(). Did you mean to set reuse=false?`);
      }
      checkShape(existing, shape);
      return existing.variable;
    }
    if (existing) {
      if (reuse === 'auto') {
        checkShape(existing, shape);
        return existing.variable;
      }
      throw new UserError(`Variable ${full} already exists, disallowed. Did you mean to set reuse=true in variableScope?`);
    }
    return this.create(full, shape, opts).variable;
  }

  /** Creates a variable under an explicit full name (tf.Variable(..., name=...)). */
  create(fullName: string, shape: number[], opts: VariableOptions = {}): VariableEntry {
    if (this.entries.has(fullName)) throw new UserError(`Variable ${fullName} already exists`);
    const initializer = opts.initializer ?? zeros();
    const size = shape.reduce((a, b) => a * b, 1);
    const trainable = opts.trainable ?? true;
    // tfjs variable names are process-global, so the TensorFlow name is kept here, not in tfjs.
    const variable = tf.tidy(() => tf.variable(tf.tensor(initialValues(initializer, size, this.random), shape), trainable));
    const entry: VariableEntry = { name: fullName, shape, initializer, regularizer: opts.regularizer, trainable, variable };
    this.entries.set(fullName, entry);
    this.addToCollection(GraphKeys.GLOBAL_VARIABLES, entry);
    if (trainable) this.addToCollection(GraphKeys.TRAINABLE_VARIABLES, entry);
    if (opts.regularizer) this.addToCollection(GraphKeys.REGULARIZATION_LOSSES, entry);
    return entry;
  }

  get(name: string): VariableEntry | undefined {
    return this.entries.get(name);
  }

  all(): VariableEntry[] {
    return [...this.entries.values()];
  }

  trainable(): VariableEntry[] {
    return this.all().filter((e) => e.trainable);
  }

  addToCollection(key: string, value: unknown): void {
    const list = this.collections.get(key) ?? [];
    list.push(value);
    this.collections.set(key, list);
  }

  getCollection<T = unknown>(key: string): T[] {
    return [...((this.collections.get(key) as T[] | undefined) ?? [])];
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
    this.collections.clear();
  }
}

function checkShape(entry: VariableEntry, shape: number[]): void {
  if (shape.length && shape.join(',') !== entry.shape.join(',')) {
    throw new UserError(`Trying to share variable ${entry.name}, but specified shape [${shape}] and found shape [${entry.shape}]`);
  }
}
