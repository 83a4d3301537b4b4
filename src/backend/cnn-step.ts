import * as tf from '@tensorflow/tfjs';
import type { ChainLayer } from '../models/layer-chain.js';
import type { NativeAddon } from './addon.js';
import { nativeBackend, writable } from './variable-memory.js';

/** Adam's slots and this step's coefficients (TensorFlow's form: c1 = 1/(1-β1ᵗ), c2 = 1/(1-β2ᵗ), ε̂ = ε·√c2). */
export interface AdamStepArgs {
  m: tf.Variable[];
  v: tf.Variable[];
  lr: number;
  beta1: number;
  beta2: number;
  epsilonHat: number;
  c1: number;
  c2: number;
}

/**
 * What a whole step updates the weights with: each gradient gets decays[i]·wᵢ added (folded L2);
 * with `averages`, each moving average then follows its updated weight in the same pass.
 */
export type StepUpdate = ({ kind: 'sgd'; lr: number } | ({ kind: 'adam' } & AdamStepArgs)) & {
  decays?: number[];
  averages?: { shadows: tf.Variable[]; oneMinusDecay: number };
};

/**
 * One training step of a chain of layers (src/models/layer-chain.ts) in one native call: forward,
 * backward and optionally the update, the batch split between the cores, each running the whole
 * step on its share. Weights are given in chain order, W then b of each layer, W, γ, β of a
 * batch-normalised one (TensorFlow layouts: HWIO, [in, out]); `seeds` holds one dropout seed per
 * layer (read where the layer has dropout); `statistics`, the moving mean and variance of each
 * batch normalisation in turn, are moved towards the batch's in the same call.
 */
export interface NativeCnnStep {
  /** Whether the addon takes a label smoothing ε (an older one has no `smoothing` argument). */
  smooths: boolean;
  /**
   * The mean loss, and the gradients (tensors the caller disposes) in the weights' order. The loss
   * is the cross-entropy against (1 − ε)·one-hot + ε/classes, ε = `smoothing` (default 0).
   */
  gradients(images: Float32Array, labels: Int32Array, weights: tf.Variable[], seeds: number[], smoothing?: number, statistics?: tf.Variable[]): { loss: number; grads: tf.Tensor[] };
  /** The mean loss plus the folded L2 terms; updates the weights (and Adam's slots) in place. */
  update(images: Float32Array, labels: Int32Array, weights: tf.Variable[], seeds: number[], update: StepUpdate, smoothing?: number, statistics?: tf.Variable[]): number;
}

type NativeUpdate = ({ kind: 'sgd'; lr: number } | ({ kind: 'adam'; m: Float32Array[]; v: Float32Array[] } & Omit<AdamStepArgs, 'm' | 'v'>)) & {
  decays?: number[];
  shadows?: Float32Array[];
  oneMinusDecay?: number;
};

type CnnStepAddon = NativeAddon & {
  cnnStepPlan(batch: number, layers: ChainLayer[], workers: number): unknown;
  cnnStepRun(plan: unknown, images: Float32Array, labels: Int32Array, weights: Float32Array[], grads: Float32Array[] | null,
    update: NativeUpdate | null, seeds: number[], smoothing?: number, statistics?: Float32Array[]): number;
  cnnStepDropoutMask(seed: number, rows: number, cols: number, keep: number): Float32Array;
  cnnStepSmoothing?: boolean;
  cnnStepConvDropout?: boolean;
  cnnStepBatchNorm?: boolean;
};

/** 0 turns the whole-step path off (A/B timing, the fallback test). */
export const wholeStepEnabled = (): boolean => process.env.MNIST_WHOLE_STEP !== '0';

/**
 * Split the batch between the cores (default), or one worker on oneDNN's own threading
 * (MNIST_CNN_STEP_SPLIT=0, for comparison).
 */
const splitWorkers = (): boolean => process.env.MNIST_CNN_STEP_SPLIT !== '0';

function stepAddon(): { backend: NonNullable<ReturnType<typeof nativeBackend>>; native: CnnStepAddon } | null {
  const backend = nativeBackend();
  if (!backend || !wholeStepEnabled()) return null;
  const addon = backend.addon as Partial<CnnStepAddon>;
  // cnnStepDropoutMask came with the layer-list plan: an addon without it plans the old fixed network.
  if (typeof addon.cnnStepPlan !== 'function' || typeof addon.cnnStepRun !== 'function' || typeof addon.cnnStepDropoutMask !== 'function') return null;
  return { backend, native: addon as CnnStepAddon };
}

/** The whole-step capability for `layers` on the active backend, or null (not native, an older addon, or switched off). */
export function nativeCnnStep(layers: ChainLayer[]): NativeCnnStep | null {
  const found = stepAddon();
  if (!found) return null;
  const { backend, native } = found;
  // An addon older than conv dropout would read a conv layer's `keep` as no dropout at all.
  if (native.cnnStepConvDropout !== true && layers.some((l) => l.kind === 'conv' && (l.keep ?? 1) < 1)) return null;
  // One older than batch normalisation would train a normalised layer as a plain convolution.
  if (native.cnnStepBatchNorm !== true && layers.some((l) => l.kind === 'conv' && l.batchNorm)) return null;
  const workers = splitWorkers() ? native.info().threads : 1;
  const pixels = layers[0].kind === 'conv' ? layers[0].h * layers[0].h * layers[0].in : layers[0].in;
  const plans = new Map<number, unknown>();
  const planFor = (images: Float32Array, labels: Int32Array) => {
    const n = labels.length;
    if (n < 1 || images.length !== n * pixels) throw new Error(`whole CNN step: ${images.length} pixels for ${n} labels`);
    let plan = plans.get(n);
    if (!plan) {
      plan = native.cnnStepPlan(n, layers, workers);
      plans.set(n, plan);
    }
    return plan;
  };
  const arrays = (vs: tf.Variable[]) => vs.map((v) => writable(backend, v));
  const smooths = native.cnnStepSmoothing === true;
  const smoothingArg = (smoothing = 0) => {
    if (smoothing !== 0 && !smooths) throw new Error('whole CNN step: this native addon predates label smoothing (rebuild it)');
    return smoothing;
  };
  return {
    smooths,
    gradients(images, labels, weights, seeds, smoothing, statistics) {
      const plan = planFor(images, labels);
      const out = weights.map((w) => backend.alloc(w.size));
      const loss = native.cnnStepRun(plan, images, labels, arrays(weights), out, null, seeds, smoothingArg(smoothing), statistics && arrays(statistics));
      const grads = out.map((values, i) => tf.engine().makeTensorFromTensorInfo(backend.output(weights[i].shape, values), backend));
      return { loss, grads };
    },
    update(images, labels, weights, seeds, update, smoothing, statistics) {
      const plan = planFor(images, labels);
      const { averages, ...rule } = update;
      const args: NativeUpdate = rule.kind === 'adam' ? { ...rule, m: arrays(rule.m), v: arrays(rule.v) } : rule;
      if (averages) Object.assign(args, { shadows: arrays(averages.shadows), oneMinusDecay: averages.oneMinusDecay });
      return native.cnnStepRun(plan, images, labels, arrays(weights), null, args, seeds, smoothingArg(smoothing), statistics && arrays(statistics));
    },
  };
}

/** The dropout mask (0 or 1/keep per element) the whole step draws for `rows` × `cols` with `seed`, or null off native. */
export function nativeDropoutMask(seed: number, rows: number, cols: number, keep: number): Float32Array | null {
  const found = stepAddon();
  return found && typeof found.native.cnnStepDropoutMask === 'function' ? found.native.cnnStepDropoutMask(seed, rows, cols, keep) : null;
}
