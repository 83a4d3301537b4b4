import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.js';
import { nativeBackend, writable } from './variable-memory.js';

/**
 * The network a whole native training step computes: conv k1×k1×c1 VALID + bias, ReLU → max-pool
 * 2×2 → conv k2×k2×c2 VALID + bias, ReLU → max-pool 2×2 → fc `hidden` + bias, ReLU → fc `classes`
 * + bias, on 28×28×1 images, with the mean softmax cross-entropy as the loss.
 */
export interface CnnStepShape {
  k1: number;
  c1: number;
  k2: number;
  c2: number;
  hidden: number;
  classes: number;
}

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
 * One training step of that network in one native call (forward, backward and optionally Adam):
 * the batch is split between the cores, each running the whole step on its share. Weights are
 * given in the order conv1 W, b, conv2 W, b, fc1 W, b, fc2 W, b (TensorFlow layouts: HWIO, [in, out]).
 */
export interface NativeCnnStep {
  /** The mean loss, and the gradients (tensors the caller disposes) in the weights' order. */
  gradients(images: Float32Array, labels: Int32Array, weights: tf.Variable[]): { loss: number; grads: tf.Tensor[] };
  /** The mean loss; updates the weights and Adam's slots in place. */
  adam(images: Float32Array, labels: Int32Array, weights: tf.Variable[], args: AdamStepArgs): number;
}

type CnnStepAddon = NativeAddon & {
  cnnStepPlan(batch: number, k1: number, c1: number, k2: number, c2: number, hidden: number, classes: number, workers: number): unknown;
  cnnStepRun(plan: unknown, images: Float32Array, labels: Int32Array, weights: Float32Array[], grads: Float32Array[] | null,
    adam: ({ m: Float32Array[]; v: Float32Array[] } & Omit<AdamStepArgs, 'm' | 'v'>) | null): number;
};

const IMAGE_PIXELS = 28 * 28;

/** 0 turns the whole-step path off (A/B timing, the fallback test). */
export const wholeStepEnabled = (): boolean => process.env.MNIST_WHOLE_STEP !== '0';

/**
 * Split the batch between the cores (default), or one worker on oneDNN's own threading
 * (MNIST_CNN_STEP_SPLIT=0, for comparison).
 */
const splitWorkers = (): boolean => process.env.MNIST_CNN_STEP_SPLIT !== '0';

/** The whole-step capability on the active backend, or null (not native, an older addon, or switched off). */
export function nativeCnnStep(shape: CnnStepShape): NativeCnnStep | null {
  const backend = nativeBackend();
  if (!backend || !wholeStepEnabled()) return null;
  const addon = backend.addon as Partial<CnnStepAddon>;
  if (typeof addon.cnnStepPlan !== 'function' || typeof addon.cnnStepRun !== 'function') return null;
  const native = addon as CnnStepAddon;
  const workers = splitWorkers() ? native.info().threads : 1;
  const plans = new Map<number, unknown>();
  const planFor = (images: Float32Array, labels: Int32Array) => {
    const n = labels.length;
    if (n < 1 || images.length !== n * IMAGE_PIXELS) {
      throw new Error(`whole CNN step: ${images.length} pixels for ${n} labels`);
    }
    let plan = plans.get(n);
    if (!plan) {
      plan = native.cnnStepPlan(n, shape.k1, shape.c1, shape.k2, shape.c2, shape.hidden, shape.classes, workers);
      plans.set(n, plan);
    }
    return plan;
  };
  const arrays = (vs: tf.Variable[]) => vs.map((v) => writable(backend, v));
  return {
    gradients(images, labels, weights) {
      const plan = planFor(images, labels);
      const out = weights.map((w) => backend.alloc(w.size));
      const loss = native.cnnStepRun(plan, images, labels, arrays(weights), out, null);
      const grads = out.map((values, i) => tf.engine().makeTensorFromTensorInfo(backend.output(weights[i].shape, values), backend));
      return { loss, grads };
    },
    adam(images, labels, weights, args) {
      const plan = planFor(images, labels);
      const { m, v, ...coefficients } = args;
      return native.cnnStepRun(plan, images, labels, arrays(weights), null, { m: arrays(m), v: arrays(v), ...coefficients });
    },
  };
}
