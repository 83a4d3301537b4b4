/**
 * Whole training steps: where the backend has one call for a model's entire step (forward,
 * backward, update), the training loop takes it instead of the gradient tape. Two exist, both on
 * the native backend, both with L2 folded and moving averages fused: the book MLP's dense chain
 * with SGD, and any chain of conv/dense layers (layerChain) with SGD or Adam and label smoothing.
 * Nothing here knows how the backend does it.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeCnnStep } from '../backend/cnn-step.js';
import { denseStepFor } from '../backend/dense-step.js';
import type { Batch } from '../data/batches.js';
import { layerChain } from '../models/layer-chain.js';
import { denseChain } from '../models/dense-chain.js';
import type { Model } from '../models/model.js';
import type { VariableEntry } from '../variables/store.js';
import type { Optimizer } from './optimizers.js';
import { foldedDecays, splitRegularization } from './regularization.js';

/** Moving averages a whole step can update in the same call: shadow -= oneMinusDecay·(shadow − variable). */
export interface FusedAverages {
  shadows: tf.Variable[];
  oneMinusDecay: number;
}

export interface WholeStep {
  /** The variables it updates: all the model's trainable ones, in the order `FusedAverages.shadows` follows. */
  variables: VariableEntry[];
  /** Whether `run` can move the moving averages too. */
  fusesAverages: boolean;
  /**
   * One step on a batch; returns the loss (before the update). `globalStep` seeds the dropout
   * masks (as on the tape: model.dropoutSeeder).
   */
  run(batch: Batch, learningRate: number, options?: { globalStep?: number; averages?: FusedAverages }): number;
}

const cache = new WeakMap<Model, { optimizer: Optimizer; backend: tf.KernelBackend; labelSmoothing: number; step: WholeStep | null }>();

/**
 * The whole step for `model` trained by `optimizer` on the active backend, with the loss's label
 * smoothing ε (0 = none), or null: then the caller takes the gradient tape. Found once per model,
 * optimizer, ε and backend.
 */
export function wholeStepFor(model: Model, optimizer: Optimizer, labelSmoothing = 0): WholeStep | null {
  const backend = tf.backend();
  const cached = cache.get(model);
  if (cached && cached.optimizer === optimizer && cached.backend === backend && cached.labelSmoothing === labelSmoothing) return cached.step;
  // The MLP's dense step has no label smoothing; the chain step has (and trains the MLP with SGD too).
  const step = (labelSmoothing === 0 ? denseWholeStep(model, optimizer) : null) ?? chainWholeStep(model, optimizer, labelSmoothing);
  cache.set(model, { optimizer, backend, labelSmoothing, step });
  return step;
}

/** The book MLP (x → relu(x·w1 + b1) → ·w2 + b2) with SGD and no loss term but folded L2. */
function denseWholeStep(model: Model, optimizer: Optimizer): WholeStep | null {
  if (optimizer.name !== 'sgd') return null;
  const variables = denseChain(model);
  const { folded, onTape } = splitRegularization(model);
  if (!variables || onTape.length > 0) return null;
  const step = denseStepFor(variables.map((v) => v.variable), foldedDecays(variables, folded));
  if (!step) return null;
  return { variables, fusesAverages: true, run: (batch, learningRate, options) => step.run(batch.images, batch.labels, learningRate, options?.averages) };
}

/**
 * A chain of layers (layerChain) trained by plain SGD or Adam, with no regularisation loss but
 * folded L2, every trainable variable in the chain.
 */
function chainWholeStep(model: Model, optimizer: Optimizer, labelSmoothing: number): WholeStep | null {
  if (optimizer.name !== 'sgd' && !optimizer.applyInPlace) return null;
  const { folded, onTape } = splitRegularization(model);
  const chain = layerChain(model);
  if (!chain || onTape.length > 0) return null;
  const native = nativeCnnStep(chain.layers);
  if (!native || (labelSmoothing !== 0 && !native.smooths)) return null;
  const { variables } = chain;
  const weights = variables.map((v) => v.variable);
  const statistics = chain.statistics.map((v) => v.variable);
  const decays = foldedDecays(variables, folded);
  const seedsFor = (globalStep?: number) => {
    const next = model.dropoutSeeder(globalStep);
    return chain.layers.map((l) => ((l.keep ?? 1) < 1 ? next() : 0));
  };
  return {
    variables,
    fusesAverages: true,
    run(batch, learningRate, options) {
      const seeds = seedsFor(options?.globalStep);
      const { averages } = options ?? {};
      if (!optimizer.applyInPlace) return native.update(batch.images, batch.labels, weights, seeds, { kind: 'sgd', lr: learningRate, decays, averages }, labelSmoothing, statistics);
      let loss = NaN;
      optimizer.applyInPlace(variables, learningRate, (adam) => {
        loss = native.update(batch.images, batch.labels, weights, seeds, { kind: 'adam', ...adam, decays, averages }, labelSmoothing, statistics);
      });
      return loss;
    },
  };
}
