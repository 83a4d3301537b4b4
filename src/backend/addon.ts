import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, sep } from 'node:path';

/** The C++ functions of native/src (see the comments there for argument order). */
export interface NativeAddon {
  info(): { onednn: string; cpuRuntime: string; threads: number; isa: string; compiledFor: string };
  setThreads(n: number): number;
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, batchA: number, batchB: number,
    m: number, n: number, k: number, transposeA: boolean, transposeB: boolean,
    bias: Float32Array | null, activation: number): void;
  conv2d(x: Float32Array, filter: Float32Array, out: Float32Array, bias: Float32Array | null,
    activation: number, ...geometry: number[]): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, ...geometry: number[]): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, ...geometry: number[]): void;
  maxPool(x: Float32Array, out: Float32Array, ...geometry: number[]): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, ...geometry: number[]): void;
  maxPool2x2ReluBiasGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, db: Float32Array, n: number, h: number, w: number, c: number): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array,
    dims: number[], stridesA: number[], stridesB: number[]): void;
  unary(op: number, x: Float32Array, out: Float32Array, n: number, alpha: number): void;
  addN(xs: Float32Array[], out: Float32Array, n: number): void;
  reluBiasGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, db: Float32Array, rows: number, channels: number): void;
  /** Batch normalisation over the last axis with the batch's statistics: y, and the mean and biased variance per channel. */
  batchNormTrain(x: Float32Array, scale: Float32Array, offset: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array,
    rows: number, channels: number, epsilon: number): void;
  /** batchNormTrain's gradients for x, scale and offset from its y's gradient dy. */
  batchNormTrainGrad(dy: Float32Array, x: Float32Array, scale: Float32Array, mean: Float32Array, variance: Float32Array,
    dx: Float32Array, dScale: Float32Array, dOffset: Float32Array, rows: number, channels: number, epsilon: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, reduced: number, inner: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /**
   * The optional `decay` λ (all three updates) adds λ·w to the gradient: L2 folded into the update.
   * They return Σw²/2 of the weights before the update when λ is given (the L2 term's sum), else 0.
   */
  sgd(w: Float32Array, g: Float32Array, n: number, lr: number, decay?: number): number;
  movingAverage(shadow: Float32Array, v: Float32Array, n: number, oneMinusDecay: number): void;
  momentum(w: Float32Array, g: Float32Array, accum: Float32Array, n: number, lr: number,
    momentum: number, nesterov: boolean, decay?: number): number;
  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number,
    beta1: number, beta2: number, epsilon: number, invBiasCorrection1: number, invBiasCorrection2: number,
    decay?: number): number;
  /**
   * One SGD step of x → relu(x·w1 + b1) → ·w2 + b2 with mean sparse softmax cross-entropy, updating
   * the variables (and, given shadows, their moving averages) in place; returns [loss, ISA used].
   * Absent from addons built before it (callers check).
   */
  denseStep?(x: Float32Array, labels: Int32Array, n: number, k: number, h: number, c: number,
    w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array,
    shadowW1: Float32Array | null, shadowB1: Float32Array | null, shadowW2: Float32Array | null, shadowB2: Float32Array | null,
    lr: number, decayW1: number, decayB1: number, decayW2: number, decayB2: number, oneMinusEmaDecay: number,
    threads: number, allowAvx512: boolean): [number, string];
}

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The addon built from source in this checkout (`npm run build:native`). */
export const ADDON_PATH = join(PACKAGE_ROOT, 'native', 'build', 'Release', 'mnist_native.node');

/**
 * The prebuilt addon's package (oneDNN and its OpenMP runtime beside the `.node` file), an optional
 * dependency npm installs only on the platform it was built for; see docs/packaging.md.
 */
export const PLATFORM_PACKAGE = 'mnist-ts-linux-x64-gnu';

/** Whether this copy of mnist-ts was installed as a package (inside node_modules), not cloned. */
export const INSTALLED_AS_PACKAGE = PACKAGE_ROOT.split(sep).includes('node_modules');

/**
 * Where the addon is: a build from source wins (whoever built it wants it), else the prebuilt one
 * from the platform package; undefined when neither exists.
 */
export function findAddon(): string | undefined {
  if (existsSync(ADDON_PATH)) return ADDON_PATH;
  try {
    const dir = dirname(createRequire(join(PACKAGE_ROOT, 'package.json')).resolve(`${PLATFORM_PACKAGE}/package.json`));
    const prebuilt = join(dir, 'mnist_native.node');
    return existsSync(prebuilt) ? prebuilt : undefined;
  } catch {
    return undefined;
  }
}

/** One sentence saying how to get the native backend where it is missing, for this kind of install. */
export function nativeHint(asPackage = INSTALLED_AS_PACKAGE): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `The native backend exists for Linux x64 only (this is ${process.platform}-${process.arch}).`;
  }
  if (!asPackage) return 'To get it: npm run build:native (installs oneDNN with apt when run as root).';
  let version = '';
  try {
    version = `@${(JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version}`;
  } catch {
    // any version will tell the user what is wrong
  }
  return `To get it: npm install ${PLATFORM_PACKAGE}${version} (the prebuilt addon for glibc Linux, left out when ` +
    `optional dependencies are omitted), or build it from source: node ${join(PACKAGE_ROOT, 'scripts', 'build-native.mjs')}`;
}

/** Barrier spin iterations; see loadAddon. Override with GOMP_SPINCOUNT or OMP_WAIT_POLICY. */
export const DEFAULT_SPINCOUNT = '1000';

let cached: { addon?: NativeAddon; error?: string; path?: string } | undefined;

/**
 * MNIST_CPU_ISA=avx2 makes the native backend run as on a CPU without AVX-512: it caps oneDNN's
 * run-time code generation (DNNL_MAX_CPU_ISA, read when oneDNN first runs). Our own kernels are
 * compiled for the AVX2+FMA baseline, except the dense training step's AVX-512 ones, which
 * dense-step.ts leaves unused under the same variable. For tests and comparisons.
 */
function capIsa(): void {
  const cap = process.env.MNIST_CPU_ISA;
  if (cap && process.env.DNNL_MAX_CPU_ISA === undefined) process.env.DNNL_MAX_CPU_ISA = cap.toUpperCase();
}

/** Loads the addon once; on failure returns a one-line reason instead of throwing. */
export function loadAddon(): { addon?: NativeAddon; error?: string; path?: string } {
  if (cached) return cached;
  const path = findAddon();
  if (!path) {
    cached = { error: INSTALLED_AS_PACKAGE ? `the prebuilt addon (${PLATFORM_PACKAGE}) is not installed` : 'the addon is not built' };
  } else {
    try {
      // OpenMP's default is to spin ~300k iterations at every barrier; on a machine shared with
      // other busy processes a spinning worker steals the core its partner needs and a training
      // step becomes 10x slower. A short spin keeps wake-ups fast on a quiet machine. libgomp reads
      // this when it is loaded, i.e. by the require below.
      if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
        process.env.GOMP_SPINCOUNT = DEFAULT_SPINCOUNT;
      }
      capIsa();
      cached = { addon: createRequire(import.meta.url)(path) as NativeAddon, path };
    } catch (err) {
      cached = { error: `addon failed to load: ${String((err as Error).message).split('\n')[0]}` };
    }
  }
  return cached;
}
