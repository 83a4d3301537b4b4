import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadAddon, nativeHint } from './addon.js';
import { NATIVE_BACKEND, NATIVE_KERNELS, registerNativeBackend, threadChoice } from './native.js';
import { registerCpuFallbacksForWasm } from './wasm-fallback.js';

export type BackendChoice = 'auto' | 'native' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: BackendChoice[] = ['auto', 'native', 'wasm', 'cpu'];

let quieted = false;

/** tfjs prints a "use tfjs-node" hint the first time the cpu backend stores data; not useful here. */
function quietCpuHint(): void {
  if (quieted) return;
  quieted = true;
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

let wasmRegistered = false;

async function useWasm(): Promise<void> {
  if (!wasmRegistered) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm files are read from disk next to the package's own JavaScript.
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${dirname(entry)}/`);
    registerCpuFallbacksForWasm();
    wasmRegistered = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
}

async function useNative(): Promise<void> {
  const reg = registerNativeBackend();
  if (!reg.ok) throw new Error(reg.reason);
  if (!(await tf.setBackend(NATIVE_BACKEND))) throw new Error('native backend failed to initialise');
}

async function useCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
  quietCpuHint();
}

/**
 * Makes `requested` the active TensorFlow.js backend. `auto` takes `native` when its addon loads,
 * else `wasm`, else `cpu`, and returns a one-line note saying why it did not get `native`.
 * An explicit choice that fails throws.
 */
export async function selectBackend(requested: BackendChoice = 'auto'): Promise<{ name: string; note?: string }> {
  quietCpuHint();
  if (requested === 'native') await useNative();
  else if (requested === 'wasm') await useWasm();
  else if (requested === 'cpu') await useCpu();
  else {
    let note: string | undefined;
    try {
      await useNative();
      return { name: NATIVE_BACKEND };
    } catch (err) {
      note = wasmFallbackNote((err as Error).message);
    }
    try {
      await useWasm();
    } catch (err) {
      note = `native and wasm backends unavailable (${(err as Error).message}); using cpu`;
      await useCpu();
    }
    return { name: tf.getBackend(), note };
  }
  return { name: tf.getBackend() };
}

/** The speeds are measured in docs/packaging.md. */
function wasmFallbackNote(reason: string): string {
  return `Using the wasm backend (WebAssembly): the native oneDNN backend is unavailable because ${reason}. ` +
    'Training works, about 15x slower (measured on the book MLP and CNN). ' + nativeHint();
}

export interface BackendInfo {
  backend: string;
  native: {
    available: boolean;
    reason?: string;
    onednn?: string;
    runtime?: string;
    threads?: number;
    threadsReason?: string;
    isa?: string;
    compiledFor?: string;
    /** The addon file, and the oneDNN library the process actually mapped (from /proc/self/maps). */
    addon?: string;
    onednnLibrary?: string;
    kernels: string[];
  };
}

/** What `mnist info` prints: the active backend and what the native addon offers on this machine. */
export function backendInfo(): BackendInfo {
  const { addon, error, path } = loadAddon();
  const kernels = NATIVE_KERNELS.map((k) => k.kernelName).sort();
  let backend = 'none';
  try {
    backend = tf.getBackend() ?? 'none';
  } catch {
    // no backend initialised yet
  }
  if (!addon) return { backend, native: { available: false, reason: error, kernels } };
  const i = addon.info();
  return {
    backend,
    native: {
      available: true, onednn: i.onednn, runtime: i.cpuRuntime, threads: i.threads,
      threadsReason: threadChoice.reason || undefined, isa: i.isa,
      compiledFor: i.compiledFor, addon: path, onednnLibrary: mappedLibrary('libdnnl.so'), kernels,
    },
  };
}

/** The file of a shared library loaded into this process whose name starts with `prefix` (Linux). */
function mappedLibrary(prefix: string): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const file = line.slice(line.indexOf('/'));
      if (line.includes('/') && basename(file).startsWith(prefix)) return file;
    }
  } catch {
    // not Linux
  }
  return undefined;
}
