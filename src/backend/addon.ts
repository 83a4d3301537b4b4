import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

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
}

export const ADDON_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release',
  'mnist_native.node');

/** Barrier spin iterations; see loadAddon. Override with GOMP_SPINCOUNT or OMP_WAIT_POLICY. */
export const DEFAULT_SPINCOUNT = '1000';

let cached: { addon?: NativeAddon; error?: string } | undefined;

/** Loads the addon once; on failure returns a one-line reason instead of throwing. */
export function loadAddon(): { addon?: NativeAddon; error?: string } {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) {
    cached = { error: 'addon not built (run: npm run build:native)' };
  } else {
    try {
      // OpenMP's default is to spin ~300k iterations at every barrier; on a machine shared with
      // other busy processes a spinning worker steals the core its partner needs and a training
      // step becomes 10x slower. A short spin keeps wake-ups fast on a quiet machine. libgomp reads
      // this when it is loaded, i.e. by the require below.
      if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
        process.env.GOMP_SPINCOUNT = DEFAULT_SPINCOUNT;
      }
      cached = { addon: createRequire(import.meta.url)(ADDON_PATH) as NativeAddon };
    } catch (err) {
      cached = { error: `addon failed to load: ${String((err as Error).message).split('\n')[0]}` };
    }
  }
  return cached;
}
