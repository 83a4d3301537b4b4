import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import '@tensorflow/tfjs-backend-cpu';
import { loadAddon, type NativeAddon } from './addon.js';
import { NativeBackend } from './native-backend.js';
import { kernelProfiler } from './profiler.js';
import type { NativeKernel, NativeKernelArgs } from './kernels/types.js';
import { matmulKernels } from './kernels/matmul.js';
import { convKernels } from './kernels/conv.js';
import { poolKernels } from './kernels/pool.js';
import { eltwiseKernels } from './kernels/eltwise.js';
import { reduceKernels } from './kernels/reduce.js';
import { lossKernels } from './kernels/loss.js';
import { batchNormKernels } from './kernels/batch-norm.js';

export const NATIVE_BACKEND = 'native';

/** Kernels that run in oneDNN / C++ on the `native` backend (all others are the stock cpu ones). */
export const NATIVE_KERNELS: NativeKernel[] = [
  ...matmulKernels, ...convKernels, ...poolKernels, ...eltwiseKernels, ...reduceKernels, ...lossKernels, ...batchNormKernels,
];

let registration: { ok: true } | { ok: false; reason: string } | undefined;

/** How many OpenMP threads the native kernels use, and why. */
export const threadChoice = { threads: 0, reason: '' };

/**
 * Both cores, unless MNIST_NATIVE_THREADS says otherwise or the machine is already busy when the
 * backend starts: with other processes on the cores, every OpenMP barrier waits for a descheduled
 * partner and a two-thread step was measured 3-10x slower than a one-thread step.
 */
function chooseThreads(available: number): { threads: number; reason: string } {
  const requested = Number(process.env.MNIST_NATIVE_THREADS ?? 0);
  if (Number.isInteger(requested) && requested > 0) return { threads: requested, reason: 'MNIST_NATIVE_THREADS' };
  const cores = os.availableParallelism();
  const load = os.loadavg()[0];
  if (available > 1 && load > cores - 0.5) {
    return { threads: 1, reason: `machine busy at start (load ${load.toFixed(1)} on ${cores} cores); MNIST_NATIVE_THREADS overrides` };
  }
  return { threads: available, reason: 'one per core' };
}

/**
 * The kernels this addon build can run: one newer than a stale build (its addon function missing)
 * is left out — callers check activeBackendHas and take the older path — instead of crashing.
 */
export function usableKernels(kernels: NativeKernel[], addon: Partial<NativeAddon>): NativeKernel[] {
  return kernels.filter((k) => !k.requires || typeof addon[k.requires] === 'function');
}

/**
 * Registers the `native` backend (once). Returns why not when the addon is unavailable. It does
 * not make it the active backend; see select.ts.
 */
export function registerNativeBackend(): { ok: true } | { ok: false; reason: string } {
  if (registration) return registration;
  const { addon, error } = loadAddon();
  if (!addon) return (registration = { ok: false, reason: error ?? 'addon unavailable' });
  Object.assign(threadChoice, chooseThreads(addon.info().threads));
  addon.setThreads(threadChoice.threads);

  const overrides = new Map(usableKernels(NATIVE_KERNELS, addon).map((k) => [k.kernelName, k]));
  for (const config of tf.getKernelsForBackend('cpu')) {
    const stock = config.kernelFunc as (args: NativeKernelArgs) => tf.TensorInfo | tf.TensorInfo[];
    const native = overrides.get(config.kernelName);
    const name = config.kernelName;
    const kernelFunc = native
      ? (args: NativeKernelArgs) => {
        const t0 = kernelProfiler.enabled ? performance.now() : 0;
        let out: tf.TensorInfo | tf.TensorInfo[] | null = native.kernelFunc(args.attrs ? args : { ...args, attrs: {} });
        let fellBack = false;
        if (out === null) {
          out = stock(args);
          args.backend.detachAliases(args.inputs, out);
          fellBack = true;
        }
        if (kernelProfiler.enabled) kernelProfiler.record(name, performance.now() - t0, !fellBack);
        return out;
      }
      : (args: NativeKernelArgs) => {
        const t0 = kernelProfiler.enabled ? performance.now() : 0;
        const out = stock(args);
        args.backend.detachAliases(args.inputs, out);
        if (kernelProfiler.enabled) kernelProfiler.record(name, performance.now() - t0, false);
        return out;
      };
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc });
    overrides.delete(name);
  }
  // Kernels the cpu backend has no version of (TensorFlow ops TensorFlow.js lacks): no fallback.
  for (const [name, native] of overrides) {
    const kernelFunc = (args: NativeKernelArgs) => {
      const t0 = kernelProfiler.enabled ? performance.now() : 0;
      const out = native.kernelFunc(args.attrs ? args : { ...args, attrs: {} });
      if (out === null) throw new Error(`${name}: unsupported inputs (${Object.values(args.inputs).map((t) => `${t.dtype}[${t.shape}]`).join(', ')})`);
      if (kernelProfiler.enabled) kernelProfiler.record(name, performance.now() - t0, true);
      return out;
    };
    tf.registerKernel({ kernelName: name, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as tf.KernelFunc });
  }
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(addon), 3);
  // Tensors move through the stock cpu backend too (tests, fallbacks): no "use tfjs-node" banner.
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
  return (registration = { ok: true });
}
