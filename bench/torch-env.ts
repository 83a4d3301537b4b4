/**
 * The environment a PyTorch reference runs in, for every bench: PERF.md's set-up for PyTorch at its
 * best — tuned glibc malloc, OpenBLAS's own CPU detection (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
 * unset). Under MNIST_CPU_ISA=avx2 (ours as on a CPU without AVX-512) PyTorch is capped the same
 * way — its ATen kernels, its oneDNN and OpenBLAS — so an AVX2 figure compares like with like on an
 * AVX-512 machine.
 */
export function torchEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MALLOC_MMAP_THRESHOLD_: '1000000000', MALLOC_TRIM_THRESHOLD_: '1000000000', MALLOC_TOP_PAD_: '100000000',
  };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (process.env.MNIST_CPU_ISA?.toLowerCase() === 'avx2') {
    Object.assign(env, { ATEN_CPU_CAPABILITY: 'avx2', DNNL_MAX_CPU_ISA: 'AVX2', ONEDNN_MAX_CPU_ISA: 'AVX2', OPENBLAS_CORETYPE: 'HASWELL' });
  }
  return { ...env, ...extra };
}

/** What the machine's ISA is, as the benches print it, and the cap in force. */
export function isaLabel(): string {
  return process.env.MNIST_CPU_ISA ? `capped to ${process.env.MNIST_CPU_ISA} (MNIST_CPU_ISA; PyTorch capped alike)` : 'uncapped';
}
