import * as tf from '@tensorflow/tfjs';
import { wasmConv2DBackpropFilter, wasmConv2DBackpropInput } from './wasm-conv-grads.js';
import type { KernelBackend, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/**
 * The wasm backend lacks some kernels the cpu backend has — gradient kernels such as
 * `Conv2DBackpropFilter` among them, so no CNN could train on wasm. For each of those, this
 * registers an adapter that copies the inputs out of the wasm heap into the cpu backend, runs the
 * cpu backend's kernel there, and copies the outputs back: slow, but every model trains.
 * `Conv2DBackpropFilter`, which every CNN needs and the cpu backend does very slowly, gets a
 * version built from wasm's own kernels instead, and so does wasm's slow `Conv2DBackpropInput`.
 * Returns the kernel names it added (none on a second call).
 */
export function registerCpuFallbacksForWasm(): string[] {
  const added: string[] = [];
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    if (UNSUPPORTED.has(kernel.kernelName) || tf.getKernel(kernel.kernelName, 'wasm') !== undefined) continue;
    let kernelFunc = viaCpu(kernel.kernelFunc);
    if (kernel.kernelName === 'Conv2DBackpropFilter') kernelFunc = wasmConv2DBackpropFilter(kernelFunc);
    tf.registerKernel({ kernelName: kernel.kernelName, backendName: 'wasm', kernelFunc });
    added.push(kernel.kernelName);
  }
  const own = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (own && !replaced) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({ ...own, kernelFunc: wasmConv2DBackpropInput(own.kernelFunc) });
    replaced = true;
  }
  return added;
}

let replaced = false;

/** complex64 tensors cannot live on wasm, and Draw paints a browser canvas. */
const UNSUPPORTED = new Set(['Complex', 'ComplexAbs', 'Real', 'Imag', 'FFT', 'IFFT', 'Draw']);

function viaCpu(cpuKernel: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const wasm = backend as KernelBackend & {
      makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: tf.backend_util.BackendValues): TensorInfo;
    };
    const cpu = tf.findBackend('cpu') as KernelBackend | null;
    if (!cpu) throw new Error('the cpu backend, needed for a kernel wasm lacks, is not available');
    const copies: TensorInfo[] = [];
    const toCpu = (t: TensorInfo | undefined): TensorInfo | undefined => {
      if (t == null) return t;
      const copy = { dataId: cpu.write(wasm.readSync(t.dataId), t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
      copies.push(copy);
      return copy;
    };
    // Some kernels (Concat, AddN…) take their inputs as an array; keep that shape.
    const cpuInputs = Array.isArray(inputs)
      ? (inputs as TensorInfo[]).map(toCpu)
      : Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, toCpu(t)]));
    try {
      const out = cpuKernel({ inputs: cpuInputs as NamedTensorInfoMap, backend: cpu, attrs });
      const back = (t: TensorInfo): TensorInfo => {
        const values = cpu.readSync(t.dataId);
        cpu.disposeData(t.dataId);
        return wasm.makeOutput(t.shape, t.dtype, undefined, values);
      };
      return Array.isArray(out) ? out.map(back) : back(out);
    } finally {
      for (const c of copies) cpu.disposeData(c.dataId);
    }
  };
}
