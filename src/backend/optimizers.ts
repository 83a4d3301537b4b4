import * as tf from '@tensorflow/tfjs';
import { NativeBackend } from './native-backend.js';

/**
 * Drop-in replacements for tf.train.sgd / momentum / adam. On the `native` backend each variable
 * is updated in one fused pass (in place) instead of 4-12 tensor ops over it; on any other backend
 * they are the stock optimizers. Same class names, slots (getWeights/setWeights) and arithmetic.
 */

export function nativeBackend(): NativeBackend | null {
  const b = tf.backend();
  return b instanceof NativeBackend ? b : null;
}

type Grads = tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>;

function gradientList(grads: Grads): Array<{ name: string; grad: tf.Tensor | undefined }> {
  return Array.isArray(grads)
    ? grads.map((g) => ({ name: g.name, grad: g.tensor }))
    : Object.keys(grads).map((name) => ({ name, grad: grads[name] }));
}

/**
 * The array behind `v`, safe to overwrite in place: it must be a whole pool array that no other
 * tensor shares. Otherwise the variable first gets a private copy (once; later steps reuse it).
 */
export function writable(backend: NativeBackend, v: tf.Variable): Float32Array {
  const entry = backend.data.get(v.dataId);
  const values = entry.values;
  if (backend.refCount(v.dataId) === 1 && backend.pool.ownsWhole(values)) return values as Float32Array;
  const copy = backend.alloc(v.size);
  copy.set(values as ArrayLike<number>);
  if (backend.refCount(v.dataId) === 1) {
    entry.values = copy;
  } else {
    const t = tf.engine().makeTensorFromTensorInfo(backend.output(v.shape, copy), backend);
    v.assign(t);
    t.dispose();
  }
  return copy;
}

function canFuse(v: tf.Variable | undefined, grad: tf.Tensor | undefined): boolean {
  return v !== undefined && grad !== undefined && v.dtype === 'float32' && grad.dtype === 'float32' &&
    v.size === grad.size;
}

function slot(v: tf.Variable): tf.Variable {
  return tf.tidy(() => tf.zerosLike(v).variable(false));
}

export class FusedSGDOptimizer extends tf.SGDOptimizer {
  override applyGradients(variableGradients: Grads): void {
    const backend = nativeBackend();
    if (!backend) return super.applyGradients(variableGradients as Record<string, tf.Variable>);
    for (const { name, grad } of gradientList(variableGradients)) {
      const v = tf.engine().registeredVariables[name];
      if (!canFuse(v, grad)) {
        if (grad) tf.tidy(() => v.assign(tf.sub(v, tf.mul(grad, this.learningRate))));
        continue;
      }
      backend.addon.sgd(writable(backend, v), backend.f32(grad!), v.size, this.learningRate);
    }
    this.incrementIterations();
  }
}

export class FusedMomentumOptimizer extends tf.MomentumOptimizer {
  override applyGradients(variableGradients: Grads): void {
    const backend = nativeBackend();
    if (!backend) return super.applyGradients(variableGradients as Record<string, tf.Variable>);
    const self = this as unknown as { accumulations: Array<{ originalName: string; variable: tf.Variable }>; momentum: number; useNesterov: boolean };
    gradientList(variableGradients).forEach(({ name, grad }, i) => {
      const v = tf.engine().registeredVariables[name];
      self.accumulations[i] ??= { originalName: `${name}/momentum`, variable: slot(v) };
      if (!grad) return;
      if (!canFuse(v, grad)) throw new Error(`fused momentum: unsupported variable ${name} (${v.dtype})`);
      backend.addon.momentum(writable(backend, v), backend.f32(grad), writable(backend, self.accumulations[i].variable),
        v.size, this.learningRate, self.momentum, self.useNesterov);
    });
    this.incrementIterations();
  }
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Grads): void {
    const backend = nativeBackend();
    if (!backend) return super.applyGradients(variableGradients as Record<string, tf.Variable>);
    const self = this as unknown as {
      accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable }>;
      accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable }>;
      accBeta1: tf.Variable; accBeta2: tf.Variable; beta1: number; beta2: number; epsilon: number;
    };
    // accBeta = beta^t for this step (the stock optimizer keeps it as a variable; so do we).
    const c1 = 1 / (1 - self.accBeta1.dataSync()[0]);
    const c2 = 1 / (1 - self.accBeta2.dataSync()[0]);
    gradientList(variableGradients).forEach(({ name, grad }, i) => {
      const v = tf.engine().registeredVariables[name];
      self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: slot(v) };
      self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: slot(v) };
      if (!grad) return;
      if (!canFuse(v, grad)) throw new Error(`fused adam: unsupported variable ${name} (${v.dtype})`);
      backend.addon.adam(writable(backend, v), backend.f32(grad),
        writable(backend, self.accumulatedFirstMoment[i].variable), writable(backend, self.accumulatedSecondMoment[i].variable),
        v.size, this.learningRate, self.beta1, self.beta2, self.epsilon, c1, c2);
    });
    tf.tidy(() => {
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    this.incrementIterations();
  }
}

/** Like tf.train.sgd(learningRate). */
export function fusedSgd(learningRate: number): tf.Optimizer {
  return new FusedSGDOptimizer(learningRate);
}
/** Like tf.train.momentum(learningRate, momentum, useNesterov). */
export function fusedMomentum(learningRate: number, momentum: number, useNesterov = false): tf.Optimizer {
  return new FusedMomentumOptimizer(learningRate, momentum, useNesterov);
}
/** Like tf.train.adam(learningRate, beta1, beta2, epsilon). */
export function fusedAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): tf.Optimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
