import type * as tf from '@tensorflow/tfjs';
import { threadChoice } from './native.js';
import { nativeBackend, writable } from './variable-memory.js';

/**
 * A whole SGD training step of a two-layer dense network, x → relu(x·w1 + b1) → ·w2 + b2 = logits,
 * with the mean sparse softmax cross-entropy, in one native call (native/src/dense_step.cc):
 * forward, backward, the update w -= lr·(g + λ·w) of the four variables in place, and optionally
 * the moving averages of the variables. Training code sees only this interface, never the addon.
 */
export interface DenseStep {
  /**
   * One step on a batch (images n×k, labels n). Returns the loss: mean cross-entropy + Σ λ·Σw²/2
   * at the weights before the update. With `ema`, each shadow then moves towards its variable:
   * shadow -= oneMinusDecay·(shadow − variable).
   */
  run(images: Float32Array, labels: Int32Array, learningRate: number, ema?: { shadows: tf.Variable[]; oneMinusDecay: number }): number;
  /** OpenMP threads the step splits the hidden units between; undefined: the backend's (threadChoice). */
  threads?: number;
  /** Whether the AVX-512 kernels may run (where the CPU has them); false forces the AVX2 ones. */
  allowAvx512: boolean;
  /** The kernels the last step ran: 'avx512' or 'avx2' ('' before the first). */
  readonly isa: string;
}

/**
 * The one-call step for these variables [w1, b1, w2, b2] with L2 coefficients `decays` (same
 * order), or null where it cannot run: not the native backend, an addon built before the step
 * existed, or MNIST_DENSE_STEP=0 (A/B timing); then callers take the tfjs path.
 */
export function denseStepFor(variables: tf.Variable[], decays: number[]): DenseStep | null {
  const backend = nativeBackend();
  if (!backend || typeof backend.addon.denseStep !== 'function' || process.env.MNIST_DENSE_STEP === '0') return null;
  if (variables.length !== 4 || variables.some((v) => v.dtype !== 'float32')) return null;
  const denseStep = backend.addon.denseStep.bind(backend.addon);
  const [k, h] = variables[0].shape as [number, number];
  const c = variables[2].shape[1] as number;
  const decay = (i: number): number => decays[i] ?? 0;
  const step: DenseStep = {
    allowAvx512: process.env.MNIST_CPU_ISA?.toLowerCase() !== 'avx2',
    isa: '',
    run(images, labels, learningRate, ema) {
      const n = labels.length;
      if (images.length !== n * k) throw new Error(`dense step: a batch of ${n} labels needs ${n * k} input values, got ${images.length}`);
      const [w1, b1, w2, b2] = variables.map((v) => writable(backend, v));
      const [s1, s2, s3, s4] = ema ? ema.shadows.map((s) => writable(backend, s)) : [null, null, null, null];
      const [loss, isa] = denseStep(images, labels, n, k, h, c, w1, b1, w2, b2, s1, s2, s3, s4, learningRate,
        decay(0), decay(1), decay(2), decay(3), ema?.oneMinusDecay ?? 0, this.threads ?? (threadChoice.threads || 1), this.allowAvx512);
      (this as { isa: string }).isa = isa;
      return loss;
    },
  };
  return step;
}
